using FunctionsLlm.Modeling.Quantization;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>
/// bitsandbytes' 4-bit blockwise quantization, checked against codes worked out by hand from its code books
/// (functional.get_4bit_type) and against the code books' midpoints as the decision thresholds of its kernels.
/// </summary>
public sealed class FourBitQuantizerTests
{
    // One partial block, absmax 1. By hand, NF4: 0.5 lies below the midpoint 0.5017 of 0.4407 (code 12) and 0.5626 →
    // 12; −1 → 0; 0 → 7; 0.2 below 0.2035 → 9; −0.3 above −0.3397 → 4; 0.9 above 0.8615 → 15; 0.04 above 0.0398 → 8;
    // −0.05 below −0.0455 → 6. FP4 (sign in bit 3; magnitudes 0, 1/192, 2/12, 3/12, 4/12, 6/12, 8/12, 1 are codes
    // 0, 1, 6, 7, 4, 5, 2, 3): 0.5 → 5; −1 → 8 + 3; 0 → 0; 0.2 below 0.2083 → 6; −0.3 above 0.2917 → 8 + 4; 0.9 → 3;
    // 0.04 → 1; −0.05 → 8 + 1.
    private static readonly float[] Block = [0.5f, -1.0f, 0.0f, 0.2f, -0.3f, 0.9f, 0.04f, -0.05f];

    [Fact]
    public void A_hand_checked_block_packs_two_codes_a_byte_the_first_in_the_high_nibble()
    {
        var (nf4, nf4Absmax) = FourBitQuantizer.Quantize(Block, FourBitType.Nf4);
        var (fp4, fp4Absmax) = FourBitQuantizer.Quantize(Block, FourBitType.Fp4);

        Assert.Equal(new byte[] { 0xC0, 0x79, 0x4F, 0x86 }, nf4);
        Assert.Equal(new byte[] { 0x5B, 0x06, 0xC3, 0x19 }, fp4);
        Assert.Equal([1.0f], nf4Absmax);
        Assert.Equal([1.0f], fp4Absmax);
        Assert.Equal(new[] { 0.44070982933044434f, -1f, 0f, 0.16093020141124725f, -0.28444138169288635f, 1f, 0.07958029955625534f, -0.09105003625154495f },
            FourBitQuantizer.Dequantize(nf4, nf4Absmax, Block.Length, FourBitType.Nf4));
        Assert.Equal(new[] { 0.5f, -1f, 0f, 2 / 12f, -4 / 12f, 1f, 0.0625f / 12, -0.0625f / 12 },
            FourBitQuantizer.Dequantize(fp4, fp4Absmax, Block.Length, FourBitType.Fp4));
    }

    [Theory]
    [InlineData("nf4")]
    [InlineData("fp4")]
    public void A_midpoint_between_two_levels_takes_the_lower_code_and_the_next_float_above_it_the_upper(string name)
    {
        var type = FourBitType.Parse(name);
        // bitsandbytes' published tables (FP4: its non-negative half, divided by its absmax 12), ascending; the kernels'
        // thresholds are the midpoints of neighbours, computed in double and written as float literals
        double[] table = name == "nf4" ? Nf4Table : [0, 0.0625 / 12, 8 / 12.0, 12 / 12.0, 4 / 12.0, 6 / 12.0, 2 / 12.0, 3 / 12.0];
        var levels = table.Select((v, code) => (Value: v, Code: code)).OrderBy(l => l.Value).ToList();
        for (int i = 0; i + 1 < levels.Count; i++)
        {
            float midpoint = (float)((levels[i].Value + levels[i + 1].Value) / 2);
            float above = MathF.BitIncrement(midpoint);
            // a 1 in the block makes its absmax 1, so the values are quantized as they are
            int[] codes = Codes([midpoint, above, -above, 1f], type);
            Assert.Equal(levels[i].Code, codes[0]);
            Assert.Equal(levels[i + 1].Code, codes[1]);
            if (name == "fp4" && midpoint > 0)
                Assert.Equal(levels[i + 1].Code | 0b1000, codes[2]);
        }
    }

    private static int[] Codes(float[] values, FourBitType type)
    {
        var (packed, _) = FourBitQuantizer.Quantize(values, type);
        return [.. packed.SelectMany(b => new[] { b >> 4, b & 0x0F }).Take(values.Length)];
    }

    private static readonly double[] Nf4Table =
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
        -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ];

    [Fact]
    public void Each_block_has_its_own_absmax_and_the_last_may_be_short()
    {
        var values = Enumerable.Range(0, 130).Select(i => (float)Math.Sin(i) * (i < 64 ? 1 : i < 128 ? 10 : 0.5f)).ToArray();

        var (packed, absmax) = FourBitQuantizer.Quantize(values, FourBitType.Nf4, blockSize: 64);

        Assert.Equal(65, packed.Length);
        Assert.Equal([values[..64].Max(MathF.Abs), values[64..128].Max(MathF.Abs), values[128..].Max(MathF.Abs)], absmax);
        var restored = FourBitQuantizer.Dequantize(packed, absmax, values.Length, FourBitType.Nf4, blockSize: 64);
        // NF4's widest gap is between −1 and −0.6962: no value moves by more than half of it times its block's absmax
        double halfGap = Nf4Table.Zip(Nf4Table.Skip(1), (a, b) => b - a).Max() / 2;
        for (int i = 0; i < values.Length; i++)
            Assert.InRange(Math.Abs(restored[i] - values[i]), 0, halfGap * absmax[i / 64] + 1e-6);
        // the largest |value| of each block is restored exactly (it is ±1 · absmax)
        foreach (int block in new[] { 0, 1, 2 })
        {
            int at = Enumerable.Range(block * 64, Math.Min(64, values.Length - block * 64)).MaxBy(i => Math.Abs(values[i]));
            Assert.Equal(values[at], restored[at]);
        }
    }

    [Fact]
    public void An_all_zero_block_stays_zero_and_bad_sizes_are_refused()
    {
        // absmax 0 is clamped to 1e-38 for the division only, so every value takes the code of 0: NF4 7, FP4 0
        var (packed, absmax) = FourBitQuantizer.Quantize(new float[64], FourBitType.Nf4);
        Assert.Equal([0f], absmax);
        Assert.All(packed, b => Assert.Equal(0x77, b));
        Assert.All(FourBitQuantizer.Dequantize(packed, absmax, 64, FourBitType.Nf4), v => Assert.Equal(0f, v));
        Assert.All(FourBitQuantizer.Quantize(new float[64], FourBitType.Fp4).Packed, b => Assert.Equal(0x00, b));

        // an odd count: the missing last value is padded with 0, whose NF4 code is 7 (1 → 15, 0.5 → 12, −1 → 0)
        Assert.Equal(new byte[] { 0xFC, 0x07 }, FourBitQuantizer.Quantize([1f, 0.5f, -1f], FourBitType.Nf4).Packed);
        Assert.Throws<ArgumentException>(() => FourBitQuantizer.Quantize([1f, float.NaN], FourBitType.Nf4));

        Assert.Throws<ArgumentOutOfRangeException>(() => FourBitQuantizer.Quantize(new float[8], FourBitType.Nf4, blockSize: 48));
        Assert.Throws<ArgumentException>(() => FourBitQuantizer.Dequantize(new byte[3], [1f], 8, FourBitType.Nf4));
        Assert.Throws<ArgumentException>(() => FourBitType.Parse("int4"));
    }
}
