using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// bitsandbytes' 8-bit blockwise quantization (<c>quantize_blockwise</c> / <c>dequantize_blockwise</c>) with its signed
/// dynamic map, which double quantization applies to the absmax values of 4-bit weights (blocks of 256): per block
/// absmax = max |x|, each x · (1 / absmax) takes the map's nearest value (a value on a midpoint the lower one).
/// </summary>
public static class DynamicQuantizer
{
    /// <summary>The block size of double quantization (<c>quantize_4bit(compress_statistics=True)</c>).</summary>
    public const int NestedBlockSize = 256;

    /// <summary>
    /// <c>create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)</c>, ascending: for i = 0…6 the midpoints
    /// of <c>linspace(0.1, 1, 2^i + 1)</c> times ±10^(i−6), then 0 and 1, in float32 arithmetic. (torch's vectorised
    /// linspace may differ from its scalar formula, used here, in the last bit; the map is stored beside the codes.)
    /// </summary>
    public static IReadOnlyList<float> Map { get; } = CreateMap();

    public static (Tensor Codes, Tensor Absmax) Quantize(Tensor values, Tensor map, int blockSize = NestedBlockSize)
    {
        using var scope = NewDisposeScope();
        var flat = values.reshape(-1).to(ScalarType.Float32);
        long count = flat.shape[0], blocks = (count + blockSize - 1) / blockSize;
        if (blocks * blockSize > count)
            flat = nn.functional.pad(flat, [0, blocks * blockSize - count]);
        var grid = flat.view(blocks, blockSize);
        var absmax = grid.abs().amax([1]);
        using var tiny = 1e-38f.ToScalar();
        using var minusOne = (-1f).ToScalar();
        using var one = 1f.ToScalar();
        var scaled = grid.mul(absmax.clamp_min(tiny).reciprocal().unsqueeze(1)).clamp(minusOne, one).reshape(-1);
        using var two = 2f.ToScalar();
        var bounds = map.narrow(0, 0, map.shape[0] - 1).add(map.narrow(0, 1, map.shape[0] - 1), One).div(two);
        var codes = searchsorted(bounds, scaled).narrow(0, 0, count).to(ScalarType.Byte);
        return (codes.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>The <paramref name="count"/> fp32 values: each code's map value times its block's absmax.</summary>
    public static Tensor Dequantize(Tensor codes, Tensor absmax, Tensor map, long count, int blockSize = NestedBlockSize)
    {
        long blocks = (count + blockSize - 1) / blockSize;
        if (codes.numel() != count || absmax.numel() != blocks)
            throw new ArgumentException($"{count} values in blocks of {blockSize} need {count} codes and {blocks} absmax values; got {codes.numel()} and {absmax.numel()}");
        using var scope = NewDisposeScope();
        var values = map.to(ScalarType.Float32).index_select(0, codes.reshape(-1).to(ScalarType.Int32));
        if (blocks * blockSize > count)
            values = nn.functional.pad(values, [0, blocks * blockSize - count]);
        var scaled = values.view(blocks, blockSize).mul_(absmax.to(ScalarType.Float32).unsqueeze(1)).view(-1);
        return scaled.narrow(0, 0, count).contiguous().MoveToOuterDisposeScope();
    }

    private static float[] CreateMap()
    {
        var data = new List<float>();
        for (int i = 0; i < 7; i++)
        {
            int items = (1 << i) + 1;
            float[] boundaries = Linspace(0.1f, 1f, items);
            float scale = (float)Math.Pow(10, i - 6);
            var means = Enumerable.Range(0, items - 1).Select(j => (boundaries[j] + boundaries[j + 1]) / 2f).ToArray();
            data.AddRange(means.Select(m => scale * m));
            data.AddRange(means.Select(m => -scale * m));
        }
        data.Add(0f);
        data.Add(1f);
        data.Sort();
        return [.. data];
    }

    // torch.linspace's scalar formula in float32: start + step·k for the first half, end − step·(steps − 1 − k) after.
    private static float[] Linspace(float start, float end, int steps)
    {
        float step = (end - start) / (steps - 1);
        return [.. Enumerable.Range(0, steps).Select(k => k < steps / 2 ? start + step * k : end - step * (steps - k - 1))];
    }
}
