namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// bitsandbytes' blockwise 4-bit quantization (<c>quantize_4bit</c> without double quantization), on values in
/// row-major order: per block of <c>blockSize</c> values absmax = max |x| (fp32), each value's code of x · (1 / absmax)
/// as the kernel computes it, two codes per byte, the first in the high nibble. The last block may be shorter; an odd
/// count leaves the last low nibble 0.
/// </summary>
public static class FourBitQuantizer
{
    /// <summary>bitsandbytes' block sizes: powers of two from 32 to 4096.</summary>
    public static bool IsValidBlockSize(int blockSize) => blockSize is >= 32 and <= 4096 && (blockSize & (blockSize - 1)) == 0;

    public static (byte[] Packed, float[] Absmax) Quantize(ReadOnlySpan<float> values, FourBitType type, int blockSize = 64)
    {
        CheckBlockSize(blockSize);
        var packed = new byte[(values.Length + 1) / 2];
        var absmax = new float[(values.Length + blockSize - 1) / blockSize];
        for (int block = 0; block < absmax.Length; block++)
        {
            int start = block * blockSize, end = Math.Min(start + blockSize, values.Length);
            float max = 0;
            for (int i = start; i < end; i++)
                max = MathF.Max(max, MathF.Abs(values[i]));
            absmax[block] = max;
            float scale = 1f / max;
            for (int i = start; i < end; i++)
            {
                byte code = type.Encode(values[i] * scale);
                packed[i / 2] |= (byte)(i % 2 == 0 ? code << 4 : code);
            }
        }
        return (packed, absmax);
    }

    /// <summary>The <paramref name="count"/> values: each code's value times its block's absmax.</summary>
    public static float[] Dequantize(ReadOnlySpan<byte> packed, ReadOnlySpan<float> absmax, int count, FourBitType type, int blockSize = 64)
    {
        CheckBlockSize(blockSize);
        if (packed.Length != (count + 1) / 2 || absmax.Length != (count + blockSize - 1) / blockSize)
        {
            throw new ArgumentException($"{count} values in blocks of {blockSize} need {(count + 1) / 2} bytes and " +
                $"{(count + blockSize - 1) / blockSize} absmax values; got {packed.Length} and {absmax.Length}");
        }
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            int code = i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0x0F;
            values[i] = type.Values[code] * absmax[i / blockSize];
        }
        return values;
    }

    private static void CheckBlockSize(int blockSize)
    {
        if (!IsValidBlockSize(blockSize))
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size must be a power of two from 32 to 4096");
    }
}
