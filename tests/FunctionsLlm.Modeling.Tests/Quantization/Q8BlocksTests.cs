using System.Runtime.InteropServices;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>
/// Q8_0 blocks worked out by hand from GGUF's definition (scale amax / 127 stored in fp16; weights rounded half away from
/// zero as llama.cpp's reference quantizer writes model files, activations half to even as its AVX2 path quantizes
/// them), and the kernel against the exact integer sums.
/// </summary>
public class Q8BlocksTests
{
    // Block 0: amax 127, so the scale is exactly 1 and every value is its own quant before rounding.
    // Block 1: amax 1, scale 1/127 = 1.00787… × 2⁻⁷, whose fp16 has mantissa 8/1024: 1.0078125 / 128 = 0.00787353515625.
    private static readonly float[] Row =
    [
        127f, -127f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, 2.49f, 126.5f, -126.5f, 0f, 3f, .. new float[20],
        1f, -1f, 0.25f, 0f, .. new float[28],
    ];

    [Fact]
    public void Weights_round_half_away_from_zero_with_an_fp16_scale_as_llama_cpp_writes_model_files()
    {
        var quants = new sbyte[64];
        var scales = new float[2];
        Q8Blocks.QuantizeWeights(Row, quants, scales);

        Assert.Equal([1f, 0.00787353515625f], scales);
        Assert.Equal(new sbyte[] { 127, -127, 1, -1, 2, -2, 3, 2, 127, -127, 0, 3 }, quants[..12]);
        Assert.All(quants[12..32], q => Assert.Equal(0, q));
        // 1 / fp32(1/127) rounds to 127 in fp32, so 0.25 gives 31.75 → 32.
        Assert.Equal(new sbyte[] { 127, -127, 32, 0 }, quants[32..36]);
    }

    [Fact]
    public void Activations_round_half_to_even_as_llama_cpps_cpu_backend_quantizes_them()
    {
        var quants = new sbyte[64];
        var scales = new float[2];
        Q8Blocks.QuantizeActivations(Row, quants, scales);

        Assert.Equal([1f, 0.00787353515625f], scales);
        Assert.Equal(new sbyte[] { 127, -127, 0, 0, 2, -2, 2, 2, 126, -126, 0, 3 }, quants[..12]);
        Assert.Equal(new sbyte[] { 127, -127, 32, 0 }, quants[32..36]);
    }

    [Fact]
    public void Weights_of_random_rows_with_ties_and_zero_blocks_quantize_as_the_definition_says()
    {
        var row = RandomRowWithTies();
        var quants = new sbyte[row.Length];
        var scales = new float[row.Length / 32];
        Q8Blocks.QuantizeWeights(row, quants, scales);

        for (int b = 0; b < scales.Length; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++)
                amax = MathF.Max(amax, MathF.Abs(row[(b * 32) + j]));
            float d = amax / 127f;
            Assert.Equal((float)(Half)d, scales[b]);
            float inverse = d == 0 ? 0 : 1f / d;
            for (int j = 0; j < 32; j++)
                Assert.Equal((sbyte)MathF.Round(row[(b * 32) + j] * inverse, MidpointRounding.AwayFromZero), quants[(b * 32) + j]);
        }
        Assert.Equal(new sbyte[] { 3, 4, -3, 0 }, quants[6..10]);   // ties away from zero, and just below a half
    }

    [Fact]
    public void Activations_of_random_rows_with_ties_and_zero_blocks_quantize_as_the_definition_says()
    {
        var row = RandomRowWithTies();
        const int blocks = 48;
        var quants = new sbyte[row.Length];
        var scales = new float[blocks];
        Q8Blocks.QuantizeActivations(row, quants, scales);

        for (int b = 0; b < blocks; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++)
                amax = MathF.Max(amax, MathF.Abs(row[(b * 32) + j]));
            Assert.Equal((float)(Half)(amax / 127f), scales[b]);
            float inverse = amax == 0 ? 0 : 127f / amax;
            for (int j = 0; j < 32; j++)
                Assert.Equal((sbyte)MathF.Round(row[(b * 32) + j] * inverse, MidpointRounding.ToEven), quants[(b * 32) + j]);
        }
        Assert.Equal(new sbyte[] { 2, 4, -2 }, quants[6..9]);   // ties to even
    }

    // Block b holds multiples of 1/2 up to 127 (so x · 127 / amax lands on .5 ties), or zeros, or gaussian values.
    private static float[] RandomRowWithTies()
    {
        const int blocks = 48;
        var random = new Random(3);
        var row = new float[blocks * 32];
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = (i / 32 % 3) switch
            {
                0 => random.Next(-254, 255) / 2f,
                1 => 0f,
                _ => (float)(random.NextDouble() * 2 - 1) * 3f,
            };
        }
        row[5] = 127f;   // the first block's amax, so its scale and inverse scale are exactly 1
        (row[6], row[7], row[8]) = (2.5f, 3.5f, -2.5f);
        row[9] = 0.49999997f;   // below a half: 0, though adding 0.5 in fp32 gives 1
        return row;
    }

    [Fact]
    public void A_block_of_zeros_has_scale_zero_and_dequantizes_to_the_quants_times_their_scale()
    {
        var quants = new sbyte[32];
        var scales = new float[1];
        Q8Blocks.QuantizeWeights(new float[32], quants, scales);
        Assert.Equal(0f, scales[0]);
        Assert.All(quants, q => Assert.Equal(0, q));

        var values = new float[64];
        var q2 = new sbyte[64];
        var s2 = new float[2];
        Q8Blocks.QuantizeWeights(Row, q2, s2);
        Q8Blocks.Dequantize(q2, s2, values);
        Assert.Equal(0.25f, values[34], 0.5f * s2[1]);   // within half a step
        Assert.Equal(127f, values[8]);
    }

    [Fact]
    public void Every_kernel_the_cpu_has_gives_the_reference_sum_bit_for_bit_and_the_exact_dot_product_to_fp32_rounding()
    {
        // Every count of input rows up to 29: chunks of 16, groups of eight with each rest of one to seven, and pairs of
        // weight rows with one row left (71).
        const int rows = 71, columns = 96, most = 29;
        manual_seed(7);
        using var weight = randn(rows, columns);
        using var input = randn(most, columns);
        using var q8 = Q8Weight.Quantize(weight);

        var wq = MemoryMarshal.Cast<byte, sbyte>(q8.Quants.bytes).ToArray();
        var wd = MemoryMarshal.Cast<byte, float>(q8.Scales.bytes).ToArray();
        var x = MemoryMarshal.Cast<byte, float>(input.bytes).ToArray();
        var reference = new float[most * rows];
        for (int i = 0; i < most; i++)
        {
            var xq = new sbyte[columns];
            var xd = new float[columns / 32];
            Q8Blocks.QuantizeActivations(x.AsSpan(i * columns, columns), xq, xd);
            for (int r = 0; r < rows; r++)
            {
                var wRow = wq.AsSpan(r * columns, columns);
                var wScales = wd.AsSpan(r * (columns / 32), columns / 32);
                reference[(i * rows) + r] = Q8Blocks.Dot(wRow, wScales, xq, xd);
                double exact = 0;
                for (int b = 0; b < columns / 32; b++)
                {
                    long sum = 0;
                    for (int j = 0; j < 32; j++)
                        sum += wRow[(b * 32) + j] * xq[(b * 32) + j];
                    exact += (double)wScales[b] * xd[b] * sum;
                }
                Assert.Equal(exact, reference[(i * rows) + r], Math.Abs(exact) * 1e-5 + 1e-5);
            }
        }
        for (int inputs = 1; inputs <= most; inputs++)
        {
            using var some = input.narrow(0, 0, inputs);
            using var projected = q8.Project(some, null);
            var xs = x.AsSpan(0, inputs * columns).ToArray();
            var kernels = EveryKernel(xs, inputs, q8);
            kernels.Insert(0, ("the CPU's own", MemoryMarshal.Cast<byte, float>(projected.bytes).ToArray()));
            AssertSameBits(reference, kernels, inputs, rows, $"{inputs} inputs, ");
        }
    }

    [Fact]
    public void An_fp16_scale_is_what_dotnets_own_half_conversion_gives()
    {
        // Every 4099th bit pattern (all signs, exponents, NaNs and infinities), then each side of every rounding tie and
        // of the edges of fp16's normal range, where the shortcut hands over to the conversion.
        var values = new List<float>();
        for (long bits = 0; bits <= uint.MaxValue; bits += 4099)
            values.Add(BitConverter.UInt32BitsToSingle((uint)bits));
        for (int exponent = -26; exponent <= 17; exponent++)
        {
            for (uint mantissa = 0; mantissa < 1024; mantissa += 37)
            {
                uint tie = ((uint)(exponent + 127) << 23) | (mantissa << 13) | 0x1000;
                for (uint near = tie - 2; near <= tie + 2; near++)
                    values.Add(BitConverter.UInt32BitsToSingle(near));
            }
        }
        foreach (float edge in new[] { 6.103515625E-05f, 65504f, 65519.996f, 65520f, 0f, float.Epsilon })
        {
            for (int step = -3; step <= 3; step++)
                values.Add(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(edge) + step));
        }
        foreach (float value in values)
        {
            float expected = (float)(Half)value, actual = Q8Blocks.ToHalfPrecision(value);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual) || (float.IsNaN(expected) && float.IsNaN(actual)),
                $"{value:R} (0x{BitConverter.SingleToUInt32Bits(value):X8}): {actual:R} against Half's {expected:R}");
        }
    }

    [Fact]
    public void The_largest_block_sums_come_out_of_every_kernel_exactly()
    {
        // Every quant ±127 on both sides, so a lane sums four products of 127² (±64,516 or anything between by sign):
        // the extremes the pairs' offset lanes and the AVX2 pairs must still give bit for bit. Sixteen inputs and six
        // weight rows run the pairs of weight rows against groups of eight.
        const int columns = 96, rows = 6, inputs = 16;
        var random = new Random(21);
        float Sign(int row, int at) => row % 3 == 0 ? 1f : row % 3 == 1 ? (at % 2 == 0 ? -1f : 1f) : (random.Next(2) == 0 ? -1f : 1f);
        using var weight = tensor(Enumerable.Range(0, rows * columns).Select(k => Sign(k / columns, k % columns) * 0.5f).ToArray(), [rows, columns]);
        var x = Enumerable.Range(0, inputs * columns).Select(k => Sign(k / columns, k % columns) * 3f).ToArray();
        using var q8 = Q8Weight.Quantize(weight);
        var wq = MemoryMarshal.Cast<byte, sbyte>(q8.Quants.bytes).ToArray();
        var wd = MemoryMarshal.Cast<byte, float>(q8.Scales.bytes).ToArray();
        Assert.All(wq, q => Assert.Equal(127, Math.Abs(q)));
        var reference = new float[inputs * rows];
        for (int i = 0; i < inputs; i++)
        {
            var xq = new sbyte[columns];
            var xd = new float[columns / 32];
            Q8Blocks.QuantizeActivations(x.AsSpan(i * columns, columns), xq, xd);
            Assert.All(xq, q => Assert.Equal(127, Math.Abs(q)));
            for (int r = 0; r < rows; r++)
                reference[(i * rows) + r] = Q8Blocks.Dot(wq.AsSpan(r * columns, columns), wd.AsSpan(r * (columns / 32), columns / 32), xq, xd);
        }
        AssertSameBits(reference, EveryKernel(x, inputs, q8), inputs, rows, "");
    }

    [Fact]
    public void A_prompts_rows_quantized_on_every_kernel_thread_give_the_reference_sums()
    {
        // 130 input rows (a prompt: each kernel thread quantizes a share, the shares uneven) against a weight large enough
        // for two threads; every output must be Q8Blocks.Dot's of its row quantized alone.
        manual_seed(17);
        const int columns = 1024, rows = 256, inputs = 130;
        using var weight = randn(rows, columns);
        using var input = randn(inputs, columns) * 3;
        using var q8 = Q8Weight.Quantize(weight);
        using var projected = q8.Project(input, null);
        var output = MemoryMarshal.Cast<byte, float>(projected.bytes).ToArray();
        var wq = MemoryMarshal.Cast<byte, sbyte>(q8.Quants.bytes).ToArray();
        var wd = MemoryMarshal.Cast<byte, float>(q8.Scales.bytes).ToArray();
        var x = MemoryMarshal.Cast<byte, float>(input.bytes).ToArray();
        var xq = new sbyte[columns];
        var xd = new float[columns / 32];
        for (int i = 0; i < inputs; i++)
        {
            Q8Blocks.QuantizeActivations(x.AsSpan(i * columns, columns), xq, xd);
            for (int r = 0; r < rows; r++)
            {
                float expected = Q8Blocks.Dot(wq.AsSpan(r * columns, columns), wd.AsSpan(r * (columns / 32), columns / 32), xq, xd);
                Assert.True(expected == output[(i * rows) + r], $"input {i}, output {r}: {output[(i * rows) + r]} against {expected}");
            }
        }
    }

    [Fact]
    public unsafe void Products_of_several_weights_in_one_call_are_each_the_product_alone()
    {
        // q, k and v of a GQA layer: one input, weights of 768, 256 and 256 rows (enough for the threads to split them).
        manual_seed(8);
        const int columns = 256, inputs = 13;
        using var qDense = randn(768, columns);
        using var kDense = randn(256, columns);
        using var vDense = randn(256, columns);
        using var q = Q8Weight.Quantize(qDense);
        using var k = Q8Weight.Quantize(kDense);
        using var v = Q8Weight.Quantize(vDense);
        using var input = randn(inputs, columns);
        var x = MemoryMarshal.Cast<byte, float>(input.bytes).ToArray();
        var together = new[] { new float[inputs * 768], new float[inputs * 256], new float[inputs * 256] };
        fixed (float* xp = x, qy = together[0], ky = together[1], vy = together[2])
            CpuQ8MatVec.Multiply(xp, inputs, [q, k, v], [(nint)qy, (nint)ky, (nint)vy]);
        Q8Weight[] weights = [q, k, v];
        for (int w = 0; w < 3; w++)
        {
            using var alone = weights[w].Project(input, null);
            Assert.Equal(MemoryMarshal.Cast<byte, float>(alone.bytes).ToArray(), together[w]);
        }
    }

    /// <summary>The product by every lane strategy this CPU runs, each by name.</summary>
    private static List<(string Name, float[] Output)> EveryKernel(float[] x, int inputs, Q8Weight weight)
    {
        var kernels = new List<(string Name, float[] Output)> { ("portable", Multiply<CpuQ8MatVec.PortableLanes>(x, inputs, weight)) };
        if (CpuQ8MatVec.Avx2Lanes.IsSupported)
            kernels.Add(("AVX2", Multiply<CpuQ8MatVec.Avx2Lanes>(x, inputs, weight)));
        if (CpuQ8MatVec.VnniLanes.IsSupported)
            kernels.Add(("AVX-VNNI", Multiply<CpuQ8MatVec.VnniLanes>(x, inputs, weight)));
        return kernels;
    }

    private static void AssertSameBits(float[] reference, List<(string Name, float[] Output)> kernels, int inputs, int rows, string context)
    {
        foreach (var (name, output) in kernels)
        {
            for (int k = 0; k < inputs * rows; k++)
                Assert.True(reference[k] == output[k], $"{name} kernel, {context}input {k / rows}, output {k % rows}: {output[k]} against {reference[k]}");
        }
    }

    private static unsafe float[] Multiply<TLanes>(float[] x, int inputs, Q8Weight weight)
        where TLanes : struct, CpuQ8MatVec.IBlockLanes
    {
        var y = new float[inputs * weight.Shape[0]];
        fixed (float* xp = x, yp = y)
            CpuQ8MatVec.Multiply<TLanes>(xp, inputs, [weight], [(nint)yp]);
        return y;
    }
}
