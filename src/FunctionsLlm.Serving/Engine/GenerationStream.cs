using System.Threading.Channels;
using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// A submitted request as it runs: its updates, step by step, and its final result. Cancelling the token given to
/// <see cref="InferenceEngine.Submit"/> frees its row at the next step; both then end in <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class GenerationStream
{
    private readonly ChannelReader<GenerationUpdate> _updates;

    internal GenerationStream(ChannelReader<GenerationUpdate> updates, Task<GenerationResult> completion, int promptTokens)
    {
        _updates = updates;
        Completion = completion;
        PromptTokens = promptTokens;
    }

    public int PromptTokens { get; }

    /// <summary>The whole result once the sequence has finished.</summary>
    public Task<GenerationResult> Completion { get; }

    /// <summary>The updates in order; the last one carries the finish reason. Read them once.</summary>
    public IAsyncEnumerable<GenerationUpdate> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _updates.ReadAllAsync(cancellationToken);
}
