using System.Runtime.CompilerServices;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using Microsoft.Extensions.AI;

namespace FunctionsLlm.Serving.InProcess;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over the engine for in-process callers: the same chat template,
/// batching and limits as the HTTP API, without HTTP. Text content only. <see cref="ChatOptions.ModelId"/> may name one of
/// the engine's adapters (or <c>BASE:ADAPTER</c>), as the <c>model</c> of a request does.
/// </summary>
public sealed class EngineChatClient(EngineSlot engines) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var lease = engines.Acquire();
        var (stream, _, model) = Submit(lease.Engine, messages, options, cancellationToken);
        var result = await stream.Completion;
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            ModelId = model,
            FinishReason = Finish(result.FinishReason),
            Usage = new UsageDetails
            {
                InputTokenCount = result.PromptTokens,
                OutputTokenCount = result.TokenIds.Count,
                TotalTokenCount = result.PromptTokens + result.TokenIds.Count,
            },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var lease = engines.Acquire();
        var (stream, id, model) = Submit(lease.Engine, messages, options, cancellationToken);
        await foreach (var update in stream.ReadAllAsync(cancellationToken))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, update.Text)
            {
                ResponseId = id,
                ModelId = model,
                FinishReason = update.FinishReason is { } reason ? Finish(reason) : null,
            };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("functionsllm", null, engines.Current?.Model.Name)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(engines) ? engines
        : null;

    /// <summary>The engines belong to the caller; nothing to release here.</summary>
    public void Dispose()
    {
    }

    private static (GenerationStream Stream, string Id, string Model) Submit(InferenceEngine engine, IEnumerable<ChatMessage> messages,
        ChatOptions? options, CancellationToken cancellationToken)
    {
        var adapter = engine.Resolve(options?.ModelId);
        var ids = engine.Model.ChatPromptIds(messages.Select(m => (m.Role.Value, m.Text)));
        var defaults = engine.Model.DefaultSampling;
        var sampling = defaults with
        {
            Temperature = options?.Temperature ?? defaults.Temperature,
            TopP = options?.TopP ?? defaults.TopP,
            TopK = options?.TopK ?? defaults.TopK,
            MaxTokens = options?.MaxOutputTokens ?? engine.DefaultMaxTokens(ids.Count),
            StopStrings = [.. options?.StopSequences ?? []],
            Seed = options?.Seed is { } seed ? unchecked((int)seed) : null,
        };
        return (engine.Submit(ids, sampling, adapter, cancellationToken), $"chatcmpl-{Guid.NewGuid():N}", adapter?.Name ?? engine.Model.Name);
    }

    private static ChatFinishReason Finish(FinishReason reason) =>
        reason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
}
