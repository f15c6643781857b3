using System.Text;
using FunctionsLlm.Modeling.Generation;
using OpenAI.Chat;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary>The official OpenAI .NET SDK against the server, as a user's application would call it.</summary>
public class ChatCompletionsTests
{
    private static readonly ChatMessage[] Messages = [new SystemChatMessage("你是客服助手。"), new UserChatMessage("我的订单什么时候发货？")];

    /// <summary>What <c>flm generate --chat</c> computes for <see cref="Messages"/>: the chat template, then greedy decoding alone.</summary>
    private static GenerationResult Reference(int maxTokens, int? topLogprobs = null)
    {
        using var served = TestModels.Load();
        var ids = served.ChatPromptIds([("system", "你是客服助手。"), ("user", "我的订单什么时候发货？")]);
        return TestModels.Alone(ids, SamplingOptions.Greedy with { MaxTokens = maxTokens, TopLogprobs = topLogprobs });
    }

    [Fact]
    public async Task A_greedy_chat_completion_is_the_answer_generated_alone()
    {
        await using var server = await Server.StartAsync();
        var reference = Reference(12);

        ChatCompletion completion = await server.Chat.CompleteChatAsync(Messages,
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });

        Assert.Equal(reference.Text, completion.Content[0].Text);
        Assert.Equal(reference.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(reference.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(reference.TokenIds.Count, completion.Usage.OutputTokenCount);
        Assert.Equal(TestModels.Name, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id);
    }

    [Fact]
    public async Task A_streamed_chat_completion_sends_the_same_text_in_chunks_then_usage()
    {
        await using var server = await Server.StartAsync();
        var reference = Reference(20);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int chunks = 0;
        await foreach (var update in server.Chat.CompleteChatStreamingAsync(Messages,
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 }))
        {
            chunks++;
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(reference.Text, text.ToString());
        Assert.True(chunks > 3, $"{chunks} chunks");
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal((reference.PromptTokens, 20), (usage.InputTokenCount, usage.OutputTokenCount));
    }

    [Fact]
    public async Task Log_probabilities_come_with_their_top_alternatives_and_bytes()
    {
        await using var server = await Server.StartAsync();
        var reference = Reference(8, topLogprobs: 3);

        ChatCompletion completion = await server.Chat.CompleteChatAsync(Messages, new ChatCompletionOptions
        {
            Temperature = 0, MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3,
        });

        var tokens = completion.ContentTokenLogProbabilities;
        Assert.Equal(8, tokens.Count);
        using var served = TestModels.Load();
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(reference.Logprobs[i].Logprob, tokens[i].LogProbability, 5);
            Assert.Equal(served.Tokenizer.TokenBytes(reference.TokenIds[i]), tokens[i].Utf8Bytes!.Value.ToArray());
            Assert.Equal(3, tokens[i].TopLogProbabilities.Count);
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(tokens[i].TopLogProbabilities[0].LogProbability, tokens[i].LogProbability, 6);
        }
        Assert.Equal(completion.Content[0].Text, Encoding.UTF8.GetString([.. tokens.SelectMany(t => t.Utf8Bytes!.Value.ToArray())]));
    }

    [Fact]
    public async Task The_sdk_lists_the_served_model()
    {
        await using var server = await Server.StartAsync();
        var models = new OpenAI.Models.OpenAIModelClient(new System.ClientModel.ApiKeyCredential("unused"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.Http.BaseAddress!, "/v1") });

        var list = (await models.GetModelsAsync()).Value;

        Assert.Equal(TestModels.Name, Assert.Single(list).Id);
        Assert.Equal("functionsllm", list[0].OwnedBy);
        Assert.Equal(TestModels.Name, (await models.GetModelAsync(TestModels.Name)).Value.Id);
    }

    [Fact]
    public async Task Sixteen_parallel_clients_each_get_their_sequential_answer()
    {
        await using var server = await Server.StartAsync(new FunctionsLlm.Serving.Engine.EngineOptions { MaxConcurrentSequences = 8, MaxQueuedRequests = 16 });
        var questions = Enumerable.Range(0, 16).Select(i => $"第{i}个问题：订单{i * 7}号什么时候到？").ToArray();
        using var served = TestModels.Load();
        var expected = questions.Select((q, i) => TestModels.Alone(served.ChatPromptIds([("user", q)]),
            SamplingOptions.Greedy with { MaxTokens = 5 + i }).Text).ToArray();

        var answers = await Task.WhenAll(questions.Select((q, i) => Task.Run(async () =>
            (await server.Chat.CompleteChatAsync([new UserChatMessage(q)],
                new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 5 + i })).Value.Content[0].Text)));

        Assert.Equal(expected, answers);
    }
}
