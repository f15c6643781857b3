using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// A frozen linear weight held in 4 bits on its device: packed codes (uint8, two a byte) and fp32 absmax per block
/// (double quantization already resolved), dequantized whenever it is used. Owns its tensors.
/// </summary>
public sealed class FourBitWeight : IDisposable
{
    private readonly Tensor _pairTable;
    private readonly ulong[] _pairBits;

    /// <param name="packed">uint8, (count + 1) / 2 bytes in any shape (bitsandbytes stores [bytes, 1]); taken over.</param>
    /// <param name="absmax">fp32, one per block; taken over.</param>
    /// <param name="quantMap">The value of each of the 16 codes (bitsandbytes' <c>quant_map</c>).</param>
    public FourBitWeight(Tensor packed, Tensor absmax, long[] shape, IReadOnlyList<float> quantMap, int blockSize)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Length != 2 || packed.dtype != ScalarType.Byte || packed.numel() != (count + 1) / 2
            || absmax.numel() != (count + blockSize - 1) / blockSize)
        {
            throw new ArgumentException($"a 4-bit weight of shape [{string.Join(", ", shape)}] in blocks of {blockSize} needs {(count + 1) / 2} " +
                $"uint8 codes and {(count + blockSize - 1) / blockSize} absmax values; got {packed.numel()} {packed.dtype} and {absmax.numel()}");
        }
        Packed = packed.reshape(-1).DetachFromDisposeScope();
        Absmax = absmax.to(ScalarType.Float32).DetachFromDisposeScope();
        Shape = shape;
        BlockSize = blockSize;
        _pairTable = FourBitType.PairTable(quantMap, packed.device).DetachFromDisposeScope();
        _pairBits = CpuFourBitDequantizer.PairBits(quantMap);
    }

    /// <summary>Quantizes a dense (out, in) weight on its device.</summary>
    public static FourBitWeight Quantize(Tensor weight, FourBitOptions options)
    {
        using var scope = NewDisposeScope();
        var (packed, absmax) = FourBitQuantizer.Quantize(weight, options.Type, options.BlockSize);
        return new FourBitWeight(packed, absmax, weight.shape, options.Type.Values, options.BlockSize);
    }

    /// <summary>uint8, flat: byte i holds values 2i (high nibble) and 2i + 1.</summary>
    public Tensor Packed { get; }

    /// <summary>fp32, one per block of <see cref="BlockSize"/> values in row-major order.</summary>
    public Tensor Absmax { get; }

    /// <summary>(out, in).</summary>
    public long[] Shape { get; }

    public int BlockSize { get; }

    public Device Device => Packed.device;

    /// <summary>The weight, (out, in), computed in fp32 and returned in <paramref name="dtype"/>.</summary>
    public Tensor Dequantize(ScalarType dtype)
    {
        if (CpuFourBitDequantizer.Applies(Packed, dtype, Shape[0] * Shape[1], BlockSize))
            return CpuFourBitDequantizer.Dequantize(Packed, Absmax, _pairBits, Shape, BlockSize);
        using var scope = NewDisposeScope();
        var values = FourBitQuantizer.Dequantize(Packed, Absmax, Shape[0] * Shape[1], _pairTable, BlockSize).view(Shape);
        return values.to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x Wᵀ (+ b). When x needs a gradient, through <see cref="FourBitLinearFunction"/>, which keeps no dequantized
    /// weight for backward but dequantizes again there: the memory saving of QLoRA.
    /// </summary>
    public Tensor Project(Tensor input, Tensor? bias)
    {
        Tensor output;
        if (input.requires_grad && is_grad_enabled())
        {
            output = FourBitLinearFunction.apply(input, this);
        }
        else
        {
            using var weight = Dequantize(input.dtype);
            output = nn.functional.linear(input, weight);
        }
        if (bias is not null)
            output = output.add(bias, One);
        return output;
    }

    public void Dispose()
    {
        Packed.Dispose();
        Absmax.Dispose();
        _pairTable.Dispose();
    }
}
