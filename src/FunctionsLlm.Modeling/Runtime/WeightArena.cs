using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Copies of a CPU model's weights packed into a few large blocks on 2 MB pages, where Linux's transparent huge pages
/// allow it (the "madvise" setting most distributions ship, or "always"). A decode step streams every weight from DRAM;
/// on 4 KB pages (the checkpoint's file mapping, or libtorch's own allocations) the hardware prefetchers stop at every
/// page and each page costs a TLB walk, nested under a virtual machine's: the F32 bench model's one-row decode step took
/// 8.3-8.7 ms from the file mapping against 6.3-7.6 ms from the arena, an 8-row step 21.6-22.1 against 12.3-15.0
/// (bench/README.md). Each tensor handed out is a view of a block; a block's memory goes when its last view is disposed.
/// Blocks are allocated by libtorch (glibc maps them fresh: they are above its mmap threshold) and advised before
/// anything touches them.
/// </summary>
internal sealed class WeightArena : IDisposable
{
    private const long BlockBytes = 256L << 20;
    private const long Alignment = CacheLines.Bytes;   // each tensor starts on a cache line
    private readonly Dictionary<ScalarType, Block> _blocks = [];

    /// <summary>A contiguous tensor in the arena, not yet written, which the caller owns.</summary>
    public Tensor Allocate(long[] shape, ScalarType dtype)
    {
        long size = ElementSize(dtype), elements = shape.Aggregate(1L, (product, length) => product * length);
        long taken = (((elements * size) + Alignment - 1) / Alignment * Alignment) / size;
        if (elements * size > BlockBytes / 2)
        {
            // A tensor of its own block, which goes with it; the current block keeps taking the smaller ones.
            var own = new Block(dtype, ((elements * size) + MemoryAdvice.HugePage) / size);
            using (own.Memory)
                return Take(own, shape, elements, taken);
        }
        if (!_blocks.TryGetValue(dtype, out var block) || block.Used + elements > block.Elements)
        {
            block?.Memory.Dispose();
            block = new Block(dtype, BlockBytes / size);
            _blocks[dtype] = block;
        }
        return Take(block, shape, elements, taken);
    }

    private static long ElementSize(ScalarType dtype)
    {
        using var probe = empty(0, dtype);
        return probe.ElementSize;
    }

    private static Tensor Take(Block block, long[] shape, long elements, long taken)
    {
        using var range = block.Memory.narrow(0, block.Used, elements);
        block.Used += taken;
        return range.view(shape).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var block in _blocks.Values)
            block.Memory.Dispose();
        _blocks.Clear();
    }

    private sealed unsafe class Block
    {
        public Block(ScalarType dtype, long elements)
        {
            Memory = empty(elements, dtype, CPU).DetachFromDisposeScope();
            long size = Memory.ElementSize;
            // Its first element's bytes locate it (the whole may be longer than a span can be).
            using var first = Memory.narrow(0, 0, 1);
            fixed (byte* start = first.bytes)
            {
                MemoryAdvice.HugePages((nint)start, elements * size);
                // The first tensor starts on a 2 MB boundary: the pages before it stay 4 KB ones.
                long boundary = ((long)start + MemoryAdvice.HugePage - 1) / MemoryAdvice.HugePage * MemoryAdvice.HugePage;
                Used = Math.Min(elements, (boundary - (long)start + size - 1) / size);
            }
            Elements = elements;
        }

        public Tensor Memory { get; }

        public long Elements { get; }

        public long Used { get; set; }
    }
}
