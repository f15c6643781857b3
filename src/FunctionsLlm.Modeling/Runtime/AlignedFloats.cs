using System.Runtime.CompilerServices;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Zeroed fp32 scratch whose first element sits on a 64-byte boundary and never moves (an array on the pinned object
/// heap, used from its first aligned element). A managed array starts 8 bytes into a line at best, so every 512-bit load
/// of it straddled two cache lines: the decode step with its products' inputs in such arrays was 3–5% slower at 4–8 rows
/// (bench/README.md). <c>fixed (float* p = buffer)</c> pins nothing further and gets the aligned start.
/// </summary>
internal sealed class AlignedFloats
{
    private readonly float[] _array;
    private readonly int _start;

    public AlignedFloats(int length)
    {
        _array = GC.AllocateArray<float>(length + CacheLines.Of<float>(), pinned: true);
        unsafe
        {
            float* first = (float*)Unsafe.AsPointer(ref _array[0]);
            _start = (int)(CacheLines.NextLine(first) - first);
        }
        Length = length;
    }

    public static AlignedFloats Empty { get; } = new(0);

    public int Length { get; }

    public Span<float> AsSpan() => _array.AsSpan(_start, Length);

    public Span<float> AsSpan(int start, int length) => AsSpan().Slice(start, length);

    public static implicit operator Span<float>(AlignedFloats buffer) => buffer.AsSpan();

    public static implicit operator ReadOnlySpan<float>(AlignedFloats buffer) => buffer.AsSpan();

    /// <summary>The first element, for <c>fixed</c>.</summary>
    public ref float GetPinnableReference() => ref _array[_start];
}
