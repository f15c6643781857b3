using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>bitsandbytes' signed 8-bit dynamic map and blockwise quantization, as double quantization uses them.</summary>
public sealed class DynamicQuantizerTests
{
    [Fact]
    public void The_map_has_the_values_create_dynamic_map_defines()
    {
        var map = DynamicQuantizer.Map;
        // By hand from create_dynamic_map(signed=True, 7, 8): exponent i = 0…6 gives 2^i midpoints of linspace(0.1, 1,
        // 2^i + 1) times ±10^(i−6): 127 positive and 127 negative values, then 0 and 1, sorted.
        Assert.Equal(256, map.Count);
        Assert.Equal(map.Order(), map);
        Assert.Equal(0f, map[127]);
        Assert.Equal(1f, map[255]);
        Assert.Equal(-map[254], map[0]);
        Assert.Equal(0.55f * 1e-6f, map[128], 1e-13f);                // i = 0: the midpoint of 0.1 and 1
        Assert.Equal(0.325f * 1e-5f, map[129], 1e-12f);               // i = 1: midpoints 0.325 and 0.775
        Assert.Equal(0.775f * 1e-5f, map[130], 1e-12f);
        Assert.Equal(1 - 0.9f / 128, map[254], 1e-6f);                // i = 6: the last midpoint, 1 − (0.9 / 64) / 2
        Assert.Equal(0.1f + 0.9f / 128, map[191], 1e-6f);             // i = 6: the first midpoint (64 values end at 254)
        for (int i = 1; i < 127; i++)
            Assert.Equal(-map[255 - i - 1], map[i]);
    }

    [Fact]
    public void Blockwise_codes_round_to_the_nearest_map_value_within_half_a_gap_of_each_block()
    {
        using var scope = NewDisposeScope();
        var values = Enumerable.Range(0, 600).Select(i => (float)(Math.Cos(i * 0.37) * (i < 256 ? 0.01 : i < 512 ? 3 : 0.2))).ToArray();
        using var map = tensor(DynamicQuantizer.Map.ToArray());

        var (codes, absmax) = DynamicQuantizer.Quantize(tensor(values), map);
        var restored = DynamicQuantizer.Dequantize(codes, absmax, map, values.Length).data<float>().ToArray();

        Assert.Equal(600, codes.numel());
        Assert.Equal(ScalarType.Byte, codes.dtype);
        Assert.Equal([values[..256].Max(MathF.Abs), values[256..512].Max(MathF.Abs), values[512..].Max(MathF.Abs)], absmax.data<float>().ToArray());
        var gaps = DynamicQuantizer.Map.Zip(DynamicQuantizer.Map.Skip(1), (a, b) => b - a).ToArray();
        float[] blockAbsmax = absmax.data<float>().ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            // the value's neighbours in the map bound the error: half the gap it falls in, times its block's absmax
            float scaled = values[i] / blockAbsmax[i / 256];
            int below = Math.Max(0, DynamicQuantizer.Map.Count(m => m <= scaled) - 1);
            float gap = below < gaps.Length ? gaps[below] : 0;
            Assert.InRange(Math.Abs(restored[i] - values[i]), 0, (gap / 2 + 1e-6f) * blockAbsmax[i / 256]);
        }
    }
}
