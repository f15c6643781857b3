using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// GGUF's Q8_0: blocks of 32 values, each an int8 times the block's fp16 scale. Weights are quantized as llama.cpp's
/// reference quantizer writes model files (scale amax / 127 rounded to fp16, values rounded half away from zero with the
/// fp32 inverse scale); activations as its CPU backend quantizes the other operand of a product (inverse scale
/// 127 / amax, values rounded half to even). Scales are kept as the fp32 value of their fp16.
/// </summary>
public static class Q8Blocks
{
    public const int Size = 32;

    /// <summary>One row of weights (a multiple of 32 values) into <paramref name="quants"/> and one scale per block.</summary>
    // Optimized at its first call: loading a model with Q8_0 weights runs it on every row once, and as tier-0 code that
    // took most of the load (1.3-1.4 s for the 124.7M bench model).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeWeights(ReadOnlySpan<float> row, Span<sbyte> quants, Span<float> scales)
    {
        Check(row, quants, scales);
        for (int b = 0; b < scales.Length; b++)
        {
            var block = row.Slice(b * Size, Size);
            float amax = Vector256.IsHardwareAccelerated ? AbsoluteMax256(block) : AbsoluteMax(block);
            float d = amax / 127f;
            float inverse = d != 0 ? 1f / d : 0f;
            scales[b] = ToHalfPrecision(d);
            if (Vector256.IsHardwareAccelerated)
            {
                // The same products and the same rounding (half away from zero), eight at a time.
                var scale = Vector256.Create(inverse);
                var v0 = Vector256.ConvertToInt32(RoundHalfAwayFromZero(Vector256.Create(block) * scale));
                var v1 = Vector256.ConvertToInt32(RoundHalfAwayFromZero(Vector256.Create(block[8..]) * scale));
                var v2 = Vector256.ConvertToInt32(RoundHalfAwayFromZero(Vector256.Create(block[16..]) * scale));
                var v3 = Vector256.ConvertToInt32(RoundHalfAwayFromZero(Vector256.Create(block[24..]) * scale));
                Vector256.Narrow(Vector256.Narrow(v0, v1), Vector256.Narrow(v2, v3)).CopyTo(quants.Slice(b * Size, Size));
                continue;
            }
            for (int j = 0; j < Size; j++)
                quants[(b * Size) + j] = (sbyte)MathF.Round(block[j] * inverse, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>
    /// Round half away from zero, lane by lane: to nearest (even) unless the value is exactly halfway, which the
    /// truncated value's distance tells exactly (the fraction of a float is exact); adding 0.5 and truncating is not
    /// (0.49999997 + 0.5 rounds up to 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundHalfAwayFromZero(Vector256<float> values)
    {
        var truncated = Vector256.Truncate(values);
        var tie = Vector256.Equals(Vector256.Abs(values - truncated), Vector256.Create(0.5f));
        return Vector256.ConditionalSelect(tie, truncated + Vector256.CopySign(Vector256<float>.One, values), Vector256.Round(values));
    }

    /// <summary>One row of activations, as llama.cpp quantizes the input of a Q8_0 product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeActivations(ReadOnlySpan<float> row, Span<sbyte> quants, Span<float> scales)
    {
        Check(row, quants, scales);
        for (int b = 0; b < scales.Length; b++)
        {
            var block = row.Slice(b * Size, Size);
            float amax = Vector256.IsHardwareAccelerated ? AbsoluteMax256(block) : AbsoluteMax(block);
            scales[b] = ToHalfPrecision(amax / 127f);
            float inverse = amax != 0 ? 127f / amax : 0f;
            if (Vector256.IsHardwareAccelerated)
            {
                // The same products and the same rounding (half to even), eight at a time.
                var scale = Vector256.Create(inverse);
                var v0 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block) * scale));
                var v1 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[8..]) * scale));
                var v2 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[16..]) * scale));
                var v3 = Vector256.ConvertToInt32(Vector256.Round(Vector256.Create(block[24..]) * scale));
                Vector256.Narrow(Vector256.Narrow(v0, v1), Vector256.Narrow(v2, v3)).CopyTo(quants.Slice(b * Size, Size));
                continue;
            }
            for (int j = 0; j < Size; j++)
                quants[(b * Size) + j] = (sbyte)MathF.Round(block[j] * inverse, MidpointRounding.ToEven);
        }
    }

    /// <summary>
    /// (float)(Half)<paramref name="value"/>: a positive value in fp16's normal range rounded to its 10 mantissa bits,
    /// half to even, in the float's own bits; anything else by the conversion itself. The conversion is a call into
    /// CoreLib that the JIT does not inline, and a prompt's Q8_0 products make one per block and input row: 6% of a
    /// 512-token prefill's samples (perf, bench/README.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ToHalfPrecision(float value)
    {
        if (value is >= SmallestNormalHalf and < LargestHalf)
        {
            uint bits = BitConverter.SingleToUInt32Bits(value);
            bits += 0x0FFFu + ((bits >> 13) & 1u);
            return BitConverter.UInt32BitsToSingle(bits & ~0x1FFFu);
        }
        return (float)(Half)value;
    }

    private const float SmallestNormalHalf = 6.103515625E-05f;   // 2⁻¹⁴

    private const float LargestHalf = 65504f;

    /// <summary>The values a row of blocks stands for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(ReadOnlySpan<sbyte> quants, ReadOnlySpan<float> scales, Span<float> row)
    {
        for (int b = 0; b < scales.Length; b++)
        {
            float scale = scales[b];
            for (int i = b * Size; i < (b + 1) * Size; i++)
                row[i] = quants[i] * scale;
        }
    }

    /// <summary>
    /// The dot product of two rows of blocks summed as llama.cpp's AVX2 kernels sum it: per block, 8 lanes of 4 exact
    /// int8 products each, converted to fp32 and accumulated lane by lane with a fused multiply-add by the product of the
    /// two scales; then the lanes summed as (l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7).
    /// </summary>
    public static float Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<float> aScales, ReadOnlySpan<sbyte> b, ReadOnlySpan<float> bScales)
    {
        Span<float> lanes = stackalloc float[8];
        lanes.Clear();
        for (int block = 0; block < aScales.Length; block++)
        {
            float d = aScales[block] * bScales[block];
            for (int lane = 0; lane < 8; lane++)
            {
                int at = (block * Size) + (lane * 4), sum = 0;
                for (int k = 0; k < 4; k++)
                    sum += a[at + k] * b[at + k];
                lanes[lane] = MathF.FusedMultiplyAdd(d, sum, lanes[lane]);
            }
        }
        return HorizontalSum(Vector256.Create<float>(lanes));
    }

    /// <summary>llama.cpp's hsum_float_8: high half plus low half, then pairs, then the two left.</summary>
    internal static float HorizontalSum(Vector256<float> lanes)
    {
        var half = lanes.GetUpper() + lanes.GetLower();
        float even = half[0] + half[2], odd = half[1] + half[3];
        return even + odd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AbsoluteMax256(ReadOnlySpan<float> block)
    {
        var max = Vector256.Max(
            Vector256.Max(Vector256.Abs(Vector256.Create(block)), Vector256.Abs(Vector256.Create(block[8..]))),
            Vector256.Max(Vector256.Abs(Vector256.Create(block[16..])), Vector256.Abs(Vector256.Create(block[24..]))));
        return Lanes.Max(max);
    }

    private static float AbsoluteMax(ReadOnlySpan<float> block)
    {
        float amax = 0;
        foreach (float v in block)
            amax = MathF.Max(amax, MathF.Abs(v));
        return amax;
    }

    private static void Check(ReadOnlySpan<float> row, Span<sbyte> quants, Span<float> scales)
    {
        if (row.Length % Size != 0 || quants.Length != row.Length || scales.Length != row.Length / Size)
            throw new ArgumentException($"Q8_0 needs rows of a multiple of {Size} values, as many quants and one scale per block; got {row.Length}, {quants.Length}, {scales.Length}");
    }
}
