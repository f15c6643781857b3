using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.Tests;

/// <summary>
/// The serving engine leaves no tensor to the finalizer, where it could be freed during a native call (issue 23), over
/// continuous batching with mixed settings, a cancelled request and an unload. Exact counts.
/// </summary>
[Collection(UnownedTensors.Collection)]
public sealed class TensorOwnershipTests
{
    [Fact]
    public void Continuous_batching_with_sampling_penalties_logprobs_and_a_cancellation_leaves_no_tensor_to_the_finalizer()
    {
        var prompts = TestModels.Prompts(8);
        var options = prompts.Select((_, i) => new SamplingOptions
        {
            Temperature = i % 2 == 0 ? 0 : 0.8, TopP = 0.9, TopK = 10 + i, RepetitionPenalty = i % 3 == 0 ? 1.3 : 1.0,
            TopLogprobs = i % 4 == 0 ? 2 : null, Seed = i, MaxTokens = 4 + i, StopTokenIds = [],
        }).ToArray();
        int completed = 0;

        long unowned = UnownedTensors.During(() =>
        {
            using var engine = TestModels.Engine(new EngineOptions { MaxConcurrentSequences = 3, MaxQueuedRequests = 8 });
            using var cancel = new CancellationTokenSource();
            var cancelled = engine.Submit(prompts[0], options[0] with { MaxTokens = 64 }, cancel.Token);
            var streams = prompts.Select((p, i) => engine.Submit(p, options[i])).ToArray();
            cancel.Cancel();
            completed = Task.WhenAll(streams.Select(s => s.Completion)).GetAwaiter().GetResult().Length;
            Assert.ThrowsAny<OperationCanceledException>(() => cancelled.Completion.GetAwaiter().GetResult());
        });

        Assert.Equal(0, unowned);
        Assert.Equal(8, completed);
    }
}
