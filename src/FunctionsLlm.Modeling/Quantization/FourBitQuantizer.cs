using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// bitsandbytes' blockwise 4-bit quantization (<c>quantize_4bit</c>), on values in row-major order, as tensor ops on
/// the values' device: per block of <c>blockSize</c> values absmax = max |x| (fp32), each value's code of
/// x · (1 / absmax) (absmax clamped to 1e-38 there, so an all-zero block gets the code of 0), two codes per byte, the
/// first in the high nibble. The last block may be shorter; an odd count pads the last low nibble with the code of 0,
/// as the kernels' zero padding does.
/// </summary>
public static class FourBitQuantizer
{
    /// <summary>bitsandbytes' block sizes: powers of two from 32 to 4096.</summary>
    public static bool IsValidBlockSize(int blockSize) => blockSize is >= 32 and <= 4096 && (blockSize & (blockSize - 1)) == 0;

    /// <summary>Packed codes (uint8, (count + 1) / 2) and absmax (fp32, one per block) of any tensor's values.</summary>
    public static (Tensor Packed, Tensor Absmax) Quantize(Tensor values, FourBitType type, int blockSize = 64)
    {
        CheckBlockSize(blockSize);
        using var scope = NewDisposeScope();
        var flat = values.reshape(-1).to(ScalarType.Float32);
        long count = flat.shape[0], blocks = (count + blockSize - 1) / blockSize;
        if (!flat.isfinite().all().item<bool>())
            throw new ArgumentException("4-bit quantization needs finite values; the tensor has NaN or infinite ones", nameof(values));
        if (blocks * blockSize > count)
            flat = nn.functional.pad(flat, [0, blocks * blockSize - count]);   // zeros change no absmax
        var grid = flat.view(blocks, blockSize);
        var absmax = grid.abs().amax([1]);
        using var tiny = 1e-38f.ToScalar();
        var scaled = grid.mul(absmax.clamp_min(tiny).reciprocal().unsqueeze(1));
        var codes = type.Encode(scaled).view(-1, 2).to(ScalarType.Int32);                    // (pairs, 2)
        using var sixteen = 16.ToScalar();
        var packed = codes.select(1, 0).mul(sixteen).bitwise_or(codes.select(1, 1)).to(ScalarType.Byte);   // high nibble first
        return (packed.narrow(0, 0, (count + 1) / 2).contiguous().MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The <paramref name="count"/> values (fp32, on the codes' device): each code's value times its block's absmax,
    /// computed in fp32 as bitsandbytes does.
    /// </summary>
    public static Tensor Dequantize(Tensor packed, Tensor absmax, long count, Tensor pairTable, int blockSize = 64)
    {
        CheckBlockSize(blockSize);
        long blocks = (count + blockSize - 1) / blockSize;
        if (packed.numel() != (count + 1) / 2 || absmax.numel() != blocks)
        {
            throw new ArgumentException($"{count} values in blocks of {blockSize} need {(count + 1) / 2} bytes and {blocks} absmax " +
                $"values; got {packed.numel()} and {absmax.numel()}");
        }
        using var scope = NewDisposeScope();
        var values = pairTable.index_select(0, packed.reshape(-1).to(ScalarType.Int32)).view(-1);   // code values, 2 a byte
        if (values.shape[0] != blocks * blockSize)
            values = nn.functional.pad(values.narrow(0, 0, count), [0, blocks * blockSize - count]);
        var scaled = values.view(blocks, blockSize).mul_(absmax.to(ScalarType.Float32).unsqueeze(1)).view(-1);
        return (scaled.shape[0] == count ? scaled : scaled.narrow(0, 0, count)).MoveToOuterDisposeScope();
    }

    /// <summary>As above, on arrays: the packed bytes and absmax values of <paramref name="values"/>.</summary>
    public static (byte[] Packed, float[] Absmax) Quantize(float[] values, FourBitType type, int blockSize = 64)
    {
        using var scope = NewDisposeScope();
        var (packed, absmax) = Quantize(tensor(values), type, blockSize);
        return (packed.data<byte>().ToArray(), absmax.data<float>().ToArray());
    }

    public static float[] Dequantize(byte[] packed, float[] absmax, int count, FourBitType type, int blockSize = 64)
    {
        using var scope = NewDisposeScope();
        return Dequantize(tensor(packed), tensor(absmax), count, FourBitType.PairTable(type.Values, CPU), blockSize).data<float>().ToArray();
    }

    private static void CheckBlockSize(int blockSize)
    {
        if (!IsValidBlockSize(blockSize))
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size must be a power of two from 32 to 4096");
    }
}
