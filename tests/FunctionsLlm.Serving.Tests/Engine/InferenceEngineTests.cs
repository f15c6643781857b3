using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests.Engine;

public class InferenceEngineTests
{
    private static readonly SamplingOptions Greedy = SamplingOptions.Greedy with { StopTokenIds = [] };

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public async Task Concurrent_greedy_requests_get_what_llama_cpp_computed_for_each_alone(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var engine = TestModels.Engine(name: name);
        var streams = fixture.GreedyCases
            .Select(c => engine.Submit(c.PromptIds, Greedy with { MaxTokens = c.GreedyIds.Length }))
            .ToArray();
        var results = await Task.WhenAll(streams.Select(s => s.Completion));
        Assert.Equal(fixture.GreedyCases.Select(c => c.GreedyIds), results.Select(r => r.TokenIds.ToArray()));
    }

    [Fact]
    public async Task Sixteen_requests_with_different_settings_each_get_their_sequential_answer()
    {
        var prompts = TestModels.Prompts(16);
        // Half greedy, half sampled with their own seed, temperature and top-k; lengths differ so sequences leave at different steps.
        var options = prompts.Select((_, i) => i % 2 == 0
            ? Greedy with { MaxTokens = 6 + i }
            : new SamplingOptions { Temperature = 0.6 + (0.1 * (i % 5)), TopP = 0.95, TopK = 20 + i, Seed = 100 + i, MaxTokens = 6 + i, StopTokenIds = [] })
            .ToArray();
        using var engine = TestModels.Engine(new EngineOptions { MaxConcurrentSequences = 5, MaxQueuedRequests = 16 });

        var results = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() => engine.Submit(p, options[i]).Completion)));

        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = TestModels.Alone(prompts[i], options[i]);
            Assert.Equal(alone.TokenIds, results[i].TokenIds);
            Assert.Equal(alone.Text, results[i].Text);
            Assert.Equal(FinishReason.Length, results[i].FinishReason);
        }
        Assert.Equal(0, engine.ActiveSequences);
        Assert.Equal(results.Sum(r => r.TokenIds.Count), engine.GeneratedTokens);
    }

    /// <summary>
    /// A request's answer is out before the engine retires its row (after the step that finished it): the row no longer
    /// counts as active then, so a client asking /health right after its answer sees its request gone (the fuzz test's
    /// last check once read 1 there).
    /// </summary>
    [Fact]
    public async Task A_request_is_not_active_once_its_answer_is_out()
    {
        using var engine = TestModels.Engine();
        var prompt = TestModels.Prompts(1)[0];
        for (int i = 0; i < 40; i++)
        {
            await engine.Submit(prompt, Greedy with { MaxTokens = 1 + (i % 3) }).Completion;
            Assert.Equal(0, engine.ActiveSequences);
        }
    }

    /// <summary>
    /// Paced chunks ride along with the decode steps in one ragged pass (stall 1); fixed chunks (stall 0) are passes of
    /// their own. Either way every answer is the one the prompt gets alone.
    /// </summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public async Task Long_prompts_prefilled_in_chunks_between_decode_steps_get_their_sequential_answer(double stall)
    {
        // Chunks of at most 16: prompts of 17 to 90 tokens take 2 to 8 chunks while the short ones decode.
        var prompts = Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, i % 2 == 0 ? 17 + (8 * i) : 5 + i).Select(j => 20 + ((i * 31) + (j * 13)) % 480).ToArray()).ToArray();
        var options = prompts.Select((_, i) => i % 3 == 2
            ? new SamplingOptions { Temperature = 0.8, TopK = 30, Seed = 7 + i, MaxTokens = 10, StopTokenIds = [] }
            : Greedy with { MaxTokens = 8 + i }).ToArray();
        using var engine = TestModels.Engine(new EngineOptions { MaxConcurrentSequences = 4, MaxQueuedRequests = 16, PrefillChunkTokens = 16, PrefillChunkStall = stall });

        var results = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() => engine.Submit(p, options[i]).Completion)));

        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = TestModels.Alone(prompts[i], options[i]);
            Assert.Equal(alone.TokenIds, results[i].TokenIds);
        }
        Assert.Equal(0, engine.ActiveSequences);
        if (stall > 0)
            Assert.True(engine.ChunksWithSteps > 0);
        else
            Assert.Equal(0, engine.ChunksWithSteps);
    }

    [Fact]
    public async Task A_request_cancelled_while_its_prompt_is_prefilled_in_chunks_frees_its_row()
    {
        using var engine = TestModels.Engine(new EngineOptions { MaxConcurrentSequences = 1, MaxQueuedRequests = 1, PrefillChunkTokens = 16 });
        using var cancel = new CancellationTokenSource();
        var running = engine.Submit([.. Enumerable.Range(1, 200)], Greedy with { MaxTokens = 4 }, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Completion);

        var next = await SubmitWhenFree(engine, [4, 5], Greedy with { MaxTokens = 2 });
        Assert.Equal(2, (await next.Completion).TokenIds.Count);
    }

    [Fact]
    public async Task Updates_stream_the_text_and_logprobs_of_the_final_result()
    {
        using var engine = TestModels.Engine();
        var stream = engine.Submit([5, 6, 7, 8], Greedy with { MaxTokens = 10, TopLogprobs = 3 });
        var updates = new List<GenerationUpdate>();
        await foreach (var update in stream.ReadAllAsync())
            updates.Add(update);
        var result = await stream.Completion;

        Assert.Equal(result.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(result.Logprobs, updates.SelectMany(u => u.Logprobs));
        Assert.Equal(10, result.Logprobs.Count);
        Assert.All(result.Logprobs, l => Assert.Equal(3, l.TopAlternatives.Count));
        Assert.Equal(FinishReason.Length, updates[^1].FinishReason);
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.FinishReason));
    }

    [Fact]
    public async Task A_cancelled_request_frees_its_row_for_the_next_one()
    {
        // A context of 4,096 so the first request still holds its row when the second arrives (250 tokens of the tiny
        // model could finish in the few milliseconds between the test's first token and its next submit); 2,048 is the cap.
        using var model = TestModels.LongContextCopy();
        using var engine = new InferenceEngine(ServedModel.Load(model, TestModels.Name, new ModelLoadOptions(CPU, ScalarType.Float32)),
            new EngineOptions { MaxConcurrentSequences = 1, MaxQueuedRequests = 0, ContextLength = 4096 });
        using var cancel = new CancellationTokenSource();
        var running = engine.Submit([1, 2, 3], Greedy with { MaxTokens = 2048 }, cancel.Token);
        await foreach (var _ in running.ReadAllAsync())
            break;
        Assert.Equal(EngineRejection.Busy, Assert.Throws<EngineRejectedException>(() => engine.Submit([4, 5], Greedy with { MaxTokens = 2 })).Reason);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Completion);
        var next = await SubmitWhenFree(engine, [4, 5], Greedy with { MaxTokens = 2 });
        Assert.Equal(2, (await next.Completion).TokenIds.Count);
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_never_runs_and_leaves_the_queue()
    {
        // The first request must still hold the only row when the second is cancelled: 250 tokens of the tiny model once
        // finished before that (the second then ran to its end), so it gets 2,048 tokens of a 4,096 context.
        using var model = TestModels.LongContextCopy();
        using var engine = new InferenceEngine(ServedModel.Load(model, TestModels.Name, new ModelLoadOptions(CPU, ScalarType.Float32)),
            new EngineOptions { MaxConcurrentSequences = 1, MaxQueuedRequests = 1, ContextLength = 4096 });
        using var first = new CancellationTokenSource();
        var running = engine.Submit([1, 2, 3], Greedy with { MaxTokens = 2048 }, first.Token);
        await foreach (var _ in running.ReadAllAsync())
            break;
        using var second = new CancellationTokenSource();
        var queued = engine.Submit([7, 8], Greedy with { MaxTokens = 3 }, second.Token);
        second.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Completion);
        Assert.Equal(0, engine.QueuedRequests);
        first.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Completion);
    }

    [Fact]
    public void Requests_beyond_the_limits_are_refused_with_the_reason()
    {
        using var engine = TestModels.Engine(new EngineOptions { ContextLength = 32, MaxTokensCap = 16 });
        var tooLong = Assert.Throws<EngineRejectedException>(() => engine.Submit([.. Enumerable.Range(1, 30)], Greedy with { MaxTokens = 5 }));
        Assert.Equal(EngineRejection.ContextLengthExceeded, tooLong.Reason);
        Assert.Contains("maximum context length is 32 tokens", tooLong.Message);
        Assert.Contains("30 in the prompt", tooLong.Message);

        var cap = Assert.Throws<EngineRejectedException>(() => engine.Submit([1, 2], Greedy with { MaxTokens = 17 }));
        Assert.Equal(("max_tokens", EngineRejection.InvalidRequest), (cap.Param, cap.Reason));

        var vocabulary = Assert.Throws<EngineRejectedException>(() => engine.Submit([1, 512], Greedy with { MaxTokens = 2 }));
        Assert.Contains("token id 512 is outside the vocabulary", vocabulary.Message);
        Assert.Equal(EngineRejection.InvalidRequest, Assert.Throws<EngineRejectedException>(() => engine.Submit([], Greedy)).Reason);
        Assert.Equal(EngineRejection.InvalidRequest,
            Assert.Throws<EngineRejectedException>(() => engine.Submit([1], Greedy with { MaxTokens = 2, TopP = 0 })).Reason);
    }

    [Fact]
    public async Task Disposing_the_engine_ends_running_and_queued_requests_as_unavailable()
    {
        var engine = TestModels.Engine(new EngineOptions { MaxConcurrentSequences = 1, ContextLength = 256 });
        var running = engine.Submit([1, 2, 3], Greedy with { MaxTokens = 250 });
        var queued = engine.Submit([4, 5, 6], Greedy with { MaxTokens = 250 });
        engine.Dispose();
        foreach (var stream in new[] { running, queued })
        {
            var error = await Assert.ThrowsAsync<EngineRejectedException>(() => stream.Completion);
            Assert.Equal(EngineRejection.Unavailable, error.Reason);
        }
        Assert.Equal(EngineRejection.Unavailable, Assert.Throws<EngineRejectedException>(() => engine.Submit([1], Greedy with { MaxTokens = 1 })).Reason);
    }

    internal static async Task<GenerationStream> SubmitWhenFree(InferenceEngine engine, int[] prompt, SamplingOptions options)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(10))
        {
            try
            {
                return engine.Submit(prompt, options);
            }
            catch (EngineRejectedException e) when (e.Reason == EngineRejection.Busy && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
            }
        }
    }
}
