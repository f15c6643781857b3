using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// A frozen linear weight held in GGUF's Q8_0 on the CPU (<see cref="Q8Blocks"/>): int8 values and one scale per block
/// of 32. Every product runs on <see cref="CpuQ8MatVec"/>, computed as llama.cpp computes it, for decode and prefill
/// alike (dequantizing for libtorch's GEMM was measured no faster for prefill, bench/README.md). Owns its tensors.
/// </summary>
public sealed class Q8Weight : IDisposable
{
    // Rows quantized between two calls of Quantize's callback: the source a loader holds resident at a time.
    private const long ChunkBytes = 4 << 20;

    private Q8Weight(Tensor quants, Tensor scales)
    {
        Quants = quants.DetachFromDisposeScope();
        Scales = scales.DetachFromDisposeScope();
        Shape = Quants.shape;
    }

    /// <summary>int8, (out, in).</summary>
    public Tensor Quants { get; }

    /// <summary>fp32 (the values of fp16 scales), (out, in / 32).</summary>
    public Tensor Scales { get; }

    /// <summary>(out, in), read once: the kernels ask for it at every product.</summary>
    public long[] Shape { get; }

    /// <summary>
    /// Quantizes a dense (out, in) weight whose rows are a multiple of 32 values, as llama.cpp's quantizer does, a few
    /// MB of rows at a time; <paramref name="quantized"/>(first row, rows) after each (a loader gives their source back).
    /// </summary>
    public static Q8Weight Quantize(Tensor weight, Action<long, long>? quantized = null) => Quantize(weight, quantized, arena: null);

    /// <summary>As <see cref="Quantize(Tensor, Action{long, long}?)"/>, the blocks in <paramref name="arena"/> where one is given (a loader's).</summary>
    internal static Q8Weight Quantize(Tensor weight, Action<long, long>? quantized, WeightArena? arena)
    {
        if (weight.ndim != 2 || weight.shape[1] % Q8Blocks.Size != 0)
            throw new ArgumentException($"Q8_0 needs a 2-D weight with rows of a multiple of {Q8Blocks.Size} values; got [{string.Join(", ", weight.shape)}]");
        using var scope = NewDisposeScope();
        var dense = weight.detach().to(ScalarType.Float32, CPU).contiguous();
        long rows = weight.shape[0], columns = weight.shape[1], blocks = columns / Q8Blocks.Size;
        var quants = arena?.Allocate([rows, columns], ScalarType.Int8) ?? empty([rows, columns], ScalarType.Int8);
        var scales = arena?.Allocate([rows, blocks], ScalarType.Float32) ?? empty([rows, blocks], ScalarType.Float32);
        unsafe
        {
            fixed (byte* source = dense.bytes, q = quants.bytes, d = scales.bytes)
            {
                nint sp = (nint)source, qp = (nint)q, dp = (nint)d;
                long chunk = Math.Max(1, ChunkBytes / (columns * sizeof(float)));
                for (long first = 0; first < rows; first += chunk)
                {
                    long count = Math.Min(chunk, rows - first);
                    Parallel.For(first, first + count, r => Q8Blocks.QuantizeWeights(
                        new ReadOnlySpan<float>((float*)sp + (r * columns), (int)columns),
                        new Span<sbyte>((sbyte*)qp + (r * columns), (int)columns),
                        new Span<float>((float*)dp + (r * blocks), (int)blocks)));
                    quantized?.Invoke(first, count);
                }
            }
        }
        return new Q8Weight(quants, scales);
    }

    /// <summary>The weight's values, (out, in), in <paramref name="dtype"/>.</summary>
    public Tensor Dequantize(ScalarType dtype)
    {
        long rows = Shape[0], columns = Shape[1], blocks = columns / Q8Blocks.Size;
        using var scope = NewDisposeScope();
        var values = empty([rows, columns], ScalarType.Float32);
        unsafe
        {
            fixed (byte* q = Quants.bytes, d = Scales.bytes, v = values.bytes)
            {
                nint qp = (nint)q, dp = (nint)d, vp = (nint)v;
                Parallel.For(0, rows, r => Q8Blocks.Dequantize(
                    new ReadOnlySpan<sbyte>((sbyte*)qp + (r * columns), (int)columns),
                    new ReadOnlySpan<float>((float*)dp + (r * blocks), (int)blocks),
                    new Span<float>((float*)vp + (r * columns), (int)columns)));
            }
        }
        return (dtype == ScalarType.Float32 ? values : values.to(dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>x Wᵀ + b for fp32 CPU inputs.</summary>
    public Tensor Project(Tensor input, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        var output = CpuQ8MatVec.Multiply(input, this);
        if (bias is not null)
            output = output.add_(bias, Runtime.Scalars.One);
        return output.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Quants.Dispose();
        Scales.Dispose();
    }
}
