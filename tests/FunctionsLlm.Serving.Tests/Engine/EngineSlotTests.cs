using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.Tests.Engine;

public class EngineSlotTests
{
    [Fact]
    public async Task Swapping_keeps_in_flight_requests_on_the_old_engine_and_disposes_it_after_the_last_one()
    {
        using var host = new EngineSlot();
        Assert.Equal(EngineRejection.Unavailable, Assert.Throws<EngineRejectedException>(host.Acquire).Reason);
        var old = TestModels.Engine(name: "tiny-llama");
        host.Swap(old);
        var lease = host.Acquire();
        var inFlight = lease.Engine.Submit([1, 2, 3], SamplingOptions.Greedy with { MaxTokens = 40, StopTokenIds = [] });

        host.Swap(TestModels.Engine(name: "tiny-qwen3"));
        using (var next = host.Acquire())
            Assert.Equal("tiny-qwen3", next.Engine.Model.Name);
        Assert.Equal(40, (await inFlight.Completion).TokenIds.Count);
        Assert.Equal(1, old.Submit([1], SamplingOptions.Greedy with { MaxTokens = 1 }).PromptTokens);

        lease.Dispose();
        Assert.Equal(EngineRejection.Unavailable,
            Assert.Throws<EngineRejectedException>(() => old.Submit([1], SamplingOptions.Greedy with { MaxTokens = 1 })).Reason);
    }
}
