using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.Tests.Engine;

public class ChunkPacerTests
{
    [Fact]
    public void A_chunk_is_sized_to_take_the_allowed_number_of_decode_steps()
    {
        var pacer = new ChunkPacer(new EngineOptions { PrefillChunkTokens = 128, PrefillChunkStall = 1.5 });
        Assert.Equal(ChunkPacer.MinimumTokens, pacer.NextChunk(2000, othersDecoding: true));   // nothing measured yet

        pacer.Stepped(TimeSpan.FromMilliseconds(40));
        pacer.Prefilled(16, TimeSpan.FromMilliseconds(32));
        Assert.Equal(30, pacer.NextChunk(2000, othersDecoding: true));   // 1.5 × 40 ms at 2 ms a token
        Assert.Equal(7, pacer.NextChunk(7, othersDecoding: true));
        Assert.Equal(2000, pacer.NextChunk(2000, othersDecoding: false));

        pacer.Prefilled(64, TimeSpan.FromMilliseconds(6.4));   // 0.1 ms a token moves the average to 1.43 ms
        Assert.Equal(41, pacer.NextChunk(2000, othersDecoding: true));
        for (int i = 0; i < 30; i++)
            pacer.Stepped(TimeSpan.FromSeconds(1));
        Assert.Equal(128, pacer.NextChunk(2000, othersDecoding: true));   // at most PrefillChunkTokens
        for (int i = 0; i < 30; i++)
            pacer.Prefilled(10, TimeSpan.FromSeconds(10));
        Assert.Equal(ChunkPacer.MinimumTokens, pacer.NextChunk(2000, othersDecoding: true));
    }

    [Fact]
    public void A_chunk_riding_along_with_a_step_is_sized_by_what_its_tokens_add_to_the_step()
    {
        var pacer = new ChunkPacer(new EngineOptions { PrefillChunkTokens = 128, PrefillChunkStall = 1 });
        Assert.Equal(1, pacer.NextRiddenChunk(2000, room: 12));   // nothing measured yet

        pacer.Stepped(TimeSpan.FromMilliseconds(16));
        pacer.SteppedWithChunk(4, TimeSpan.FromMilliseconds(28));   // 3 ms a token on top of the 16 ms step
        Assert.Equal(5, pacer.NextRiddenChunk(2000, room: 12));
        Assert.Equal(3, pacer.NextRiddenChunk(2000, room: 3));
        Assert.Equal(2, pacer.NextRiddenChunk(2, room: 12));

        for (int i = 0; i < 30; i++)
            pacer.SteppedWithChunk(12, TimeSpan.FromMilliseconds(16.5));   // nearly free: as many as there is room for
        Assert.Equal(12, pacer.NextRiddenChunk(2000, room: 12));
    }

    [Fact]
    public void One_slow_step_before_a_prompt_does_not_size_its_chunks()
    {
        var pacer = new ChunkPacer(new EngineOptions { PrefillChunkTokens = 128, PrefillChunkStall = 1 });
        for (int i = 0; i < 20; i++)
            pacer.Stepped(TimeSpan.FromMilliseconds(15));
        pacer.Stepped(TimeSpan.FromMilliseconds(300));   // a collection, or a busy host, just before the prompt
        pacer.SteppedWithChunk(2, TimeSpan.FromMilliseconds(22));   // 3.5 ms a token on top of the 15 ms step
        Assert.Equal(4, pacer.NextRiddenChunk(2000, room: 12));     // not the room's 12, as a 100 ms average step would give
        pacer.Prefilled(16, TimeSpan.FromMilliseconds(42));
        Assert.Equal(ChunkPacer.MinimumTokens, pacer.NextChunk(2000, othersDecoding: true));   // 15 ms at 2.6 ms a token: 5, at least 8

        for (int i = 0; i < 8; i++)
            pacer.Stepped(TimeSpan.FromMilliseconds(30));   // steps that stay slower become the step's time
        Assert.Equal(11, pacer.NextChunk(2000, othersDecoding: true));
    }

    [Fact]
    public void Without_a_stall_every_chunk_has_the_configured_size_and_a_negative_stall_is_refused()
    {
        var pacer = new ChunkPacer(new EngineOptions { PrefillChunkTokens = 64, PrefillChunkStall = 0 });
        pacer.Stepped(TimeSpan.FromMilliseconds(40));
        pacer.Prefilled(16, TimeSpan.FromMilliseconds(320));
        Assert.Equal(64, pacer.NextChunk(2000, othersDecoding: true));

        var error = Assert.Throws<ArgumentException>(() => new EngineOptions { PrefillChunkStall = -1 }.Validate());
        Assert.Contains("prefill chunk stall", error.Message);
    }
}
