using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Tests.Runtime;

public class AlignedFloatsTests
{
    [Fact]
    public unsafe void Buffers_start_on_a_64_byte_line_are_zeroed_and_stay_put_through_compacting_collections()
    {
        // Many small lengths: the arrays behind them land at every 8-byte offset within a line.
        var buffers = Enumerable.Range(0, 200).Select(i => new AlignedFloats(1 + (i % 37))).ToList();
        var before = buffers.Select(Address).ToList();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);

        for (int i = 0; i < buffers.Count; i++)
        {
            Assert.Equal(0, Address(buffers[i]) % 64);
            Assert.Equal(before[i], Address(buffers[i]));
            Assert.Equal(1 + (i % 37), buffers[i].Length);
            Assert.True(buffers[i].AsSpan().IndexOfAnyExcept(0f) < 0, $"buffer {i} is not zeroed");
        }
    }

    [Fact]
    public void Spans_cover_exactly_the_buffer()
    {
        var buffer = new AlignedFloats(10);
        buffer.AsSpan(7, 3).Fill(2f);
        Span<float> whole = buffer;

        Assert.Equal(10, whole.Length);
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 0f, 0f, 2f, 2f, 2f], whole.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AsSpan(8, 3));
        Assert.Equal(0, AlignedFloats.Empty.AsSpan().Length);
    }

    private static unsafe long Address(AlignedFloats buffer)
    {
        fixed (float* start = buffer)
            return (long)start;
    }
}
