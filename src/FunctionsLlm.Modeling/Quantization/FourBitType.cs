using TorchSharp;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// A 4-bit code book of bitsandbytes (<c>functional.get_4bit_type</c>), its values normalised to absmax 1: NF4, the
/// QLoRA paper's normal-float levels in ascending order, and FP4, bitsandbytes' E2M1 floats with the sign in bit 3.
/// A value already divided by its block's absmax gets the code its kernels (<c>dQuantizeNF4</c>/<c>dQuantizeFP4</c>)
/// give: thresholds at the midpoints between neighbouring values, a value on a threshold taking the lower one.
/// </summary>
public sealed class FourBitType
{
    public static readonly FourBitType Nf4 = new("nf4",
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
        -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ], signed: false);

    public static readonly FourBitType Fp4 = new("fp4",
        [.. new[] { 0, 0.0625, 8, 12, 4, 6, 2, 3, -0.0, -0.0625, -8, -12, -4, -6, -2, -3 }.Select(v => v / 12)], signed: true);

    private readonly int[] _codesByValue;    // codes in ascending order of value (FP4: of the non-negative half)
    private readonly float[] _thresholds;    // midpoints between the values of consecutive codes in that order
    private readonly bool _signBit;

    private FourBitType(string name, double[] values, bool signed)
    {
        Name = name;
        Values = [.. values.Select(v => (float)v)];
        _signBit = signed;
        var half = signed ? values.Take(8).ToArray() : values;
        _codesByValue = [.. Enumerable.Range(0, half.Length).OrderBy(i => half[i])];
        _thresholds = [.. _codesByValue.Zip(_codesByValue.Skip(1), (a, b) => (float)((half[a] + half[b]) / 2))];
    }

    /// <summary><c>nf4</c> or <c>fp4</c>, as bitsandbytes and transformers name them.</summary>
    public string Name { get; }

    /// <summary>The value of each code (bitsandbytes' <c>quant_map</c>).</summary>
    public IReadOnlyList<float> Values { get; }

    public static FourBitType Parse(string name) => name switch
    {
        "nf4" => Nf4,
        "fp4" => Fp4,
        _ => throw new ArgumentException($"4-bit type '{name}' is not supported; supported: nf4, fp4", nameof(name)),
    };

    /// <summary>
    /// The codes of <paramref name="scaled"/>, values already divided by their block's absmax, as a uint8 tensor of the
    /// same shape: bitsandbytes' bucketize over the midpoints (FP4 over the magnitudes, the sign put in bit 3).
    /// </summary>
    public Tensor Encode(Tensor scaled)
    {
        using var scope = NewDisposeScope();
        using var thresholds = tensor(_thresholds, device: scaled.device);
        using var codes = tensor(_codesByValue.Select(c => (long)c).ToArray(), device: scaled.device);
        var magnitude = _signBit ? scaled.abs() : scaled;
        var rank = searchsorted(thresholds, magnitude.contiguous());            // thresholds below each value
        var code = codes.index_select(0, rank.reshape(-1)).reshape(scaled.shape);
        if (_signBit)
        {
            using var zero = 0f.ToScalar();
            using var eight = 8L.ToScalar();
            code = code.bitwise_or(scaled.lt(zero).to(ScalarType.Int64).mul(eight));
        }
        return code.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>(256, 2) fp32: the values of a packed byte's high and low codes, for dequantizing a byte at a time.</summary>
    public static Tensor PairTable(IReadOnlyList<float> codeValues, Device device)
    {
        if (codeValues.Count != 16)
            throw new ArgumentException($"a 4-bit code book has 16 values, got {codeValues.Count}", nameof(codeValues));
        var pairs = new float[512];
        for (int b = 0; b < 256; b++)
        {
            pairs[2 * b] = codeValues[b >> 4];
            pairs[2 * b + 1] = codeValues[b & 0x0F];
        }
        return tensor(pairs, [256, 2], device: device);
    }
}
