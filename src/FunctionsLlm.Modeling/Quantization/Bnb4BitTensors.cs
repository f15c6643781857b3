using FunctionsLlm.Modeling.Checkpoints;
using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// One linear weight as transformers saves a bitsandbytes 4-bit <c>Params4bit</c>: <c>{w}</c> (uint8 [bytes, 1], two
/// codes a byte), <c>{w}.absmax</c> (fp32 per block, or uint8 codes with double quantization), <c>{w}.quant_map</c>
/// (the 16 code values), <c>{w}.nested_absmax</c> and <c>{w}.nested_quant_map</c> (double quantization: fp32 per
/// 256 absmax values and the 256-value dynamic map) and <c>{w}.quant_state.bitsandbytes__{type}</c> (the metadata).
/// Owns its tensors.
/// </summary>
public sealed class Bnb4BitTensors : IDisposable
{
    private Bnb4BitTensors(Bnb4BitQuantState state, Tensor packed, Tensor absmax, Tensor quantMap, Tensor? nestedAbsmax, Tensor? nestedQuantMap)
    {
        State = state;
        Packed = packed.DetachFromDisposeScope();
        Absmax = absmax.DetachFromDisposeScope();
        QuantMap = quantMap.DetachFromDisposeScope();
        NestedAbsmax = nestedAbsmax?.DetachFromDisposeScope();
        NestedQuantMap = nestedQuantMap?.DetachFromDisposeScope();
    }

    public Bnb4BitQuantState State { get; }

    /// <summary>uint8 [(count + 1) / 2, 1].</summary>
    public Tensor Packed { get; }

    /// <summary>fp32 per block, or (double quantization) uint8 codes of absmax − offset.</summary>
    public Tensor Absmax { get; }

    public Tensor QuantMap { get; }

    public Tensor? NestedAbsmax { get; }

    public Tensor? NestedQuantMap { get; }

    /// <summary>Quantizes a dense weight as <c>Params4bit</c> does on its way to the GPU (its device here).</summary>
    public static Bnb4BitTensors Quantize(Tensor weight, FourBitOptions options)
    {
        using var scope = NewDisposeScope();
        var (packed, absmax) = FourBitQuantizer.Quantize(weight, options.Type, options.BlockSize);
        var quantMap = tensor(options.Type.Values.ToArray(), device: weight.device);
        var state = new Bnb4BitQuantState(options.Type.Name, options.BlockSize, TorchDTypeName(weight.dtype), weight.shape);
        if (!options.DoubleQuant)
            return new Bnb4BitTensors(state, packed.unsqueeze(1), absmax, quantMap, null, null);

        var offset = absmax.mean();
        var map = tensor(DynamicQuantizer.Map.ToArray(), device: weight.device);
        var (codes, nestedAbsmax) = DynamicQuantizer.Quantize(absmax.sub(offset), map);
        var nested = new Bnb4BitNesting(DynamicQuantizer.NestedBlockSize, "float32", offset.item<float>());
        return new Bnb4BitTensors(state with { Nesting = nested }, packed.unsqueeze(1), codes, quantMap, nestedAbsmax, map);
    }

    /// <summary>The weight's tensors under their checkpoint names, <paramref name="weightName"/> being e.g. <c>….q_proj.weight</c>.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> Entries(string weightName, Tensor metadata)
    {
        yield return (weightName, Packed);
        yield return (weightName + ".absmax", Absmax);
        yield return (weightName + ".quant_map", QuantMap);
        if (NestedAbsmax is not null && NestedQuantMap is not null)
        {
            yield return (weightName + ".nested_absmax", NestedAbsmax);
            yield return (weightName + ".nested_quant_map", NestedQuantMap);
        }
        yield return (State.MetadataName(weightName), metadata);
    }

    /// <summary>The metadata tensor (uint8 bytes of <see cref="Bnb4BitQuantState.Pack"/>), owned by the caller.</summary>
    public Tensor Metadata() => tensor(State.Pack());

    /// <summary>The quantized weight <paramref name="weightName"/> of a checkpoint, or null when it is stored dense.</summary>
    public static Bnb4BitTensors? Read(CheckpointReader checkpoint, string weightName)
    {
        string? metadataName = FourBitTypeNames.Select(t => $"{weightName}.quant_state.bitsandbytes__{t}").FirstOrDefault(checkpoint.Names.Contains);
        if (metadataName is null)
            return null;
        using var scope = NewDisposeScope();
        string source = $"{checkpoint.Directory}: {metadataName}";
        var state = Bnb4BitQuantState.Unpack(checkpoint.Read(metadataName).data<byte>().ToArray(), source);
        Tensor Required(string suffix) => checkpoint.Names.Contains(weightName + suffix)
            ? checkpoint.Read(weightName + suffix)
            : throw new CheckpointException(checkpoint.Directory, $"the 4-bit weight '{weightName}' has no tensor '{weightName}{suffix}'");
        var packed = Required("");
        var absmax = Required(".absmax");
        var quantMap = Required(".quant_map");
        Tensor? nestedAbsmax = state.Nesting is null ? null : Required(".nested_absmax");
        Tensor? nestedQuantMap = state.Nesting is null ? null : Required(".nested_quant_map");
        var problem = Check(state, packed, absmax, quantMap, nestedAbsmax, nestedQuantMap);
        if (problem is not null)
            throw new CheckpointException(checkpoint.Directory, $"the 4-bit weight '{weightName}': {problem}");
        return new Bnb4BitTensors(state, packed, absmax, quantMap, nestedAbsmax, nestedQuantMap);
    }

    /// <summary>The fp32 absmax of each block, the nested 8-bit values dequantized and offset as bitsandbytes does.</summary>
    public Tensor ResolvedAbsmax()
    {
        if (State.Nesting is not { } nesting)
            return Absmax.to(ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var offset = ((float)nesting.Offset).ToScalar();
        var absmax = DynamicQuantizer.Dequantize(Absmax, NestedAbsmax!, NestedQuantMap!, Absmax.numel(), nesting.BlockSize).add_(offset, One);
        return absmax.MoveToOuterDisposeScope();
    }

    /// <summary>The weight for computing, on <paramref name="device"/>.</summary>
    public FourBitWeight ToWeight(Device device)
    {
        using var scope = NewDisposeScope();
        return new FourBitWeight(Packed.to(device), ResolvedAbsmax().to(device), State.Shape, QuantMap.to(ScalarType.Float32).data<float>().ToArray(), State.BlockSize);
    }

    /// <summary>The dense weight, (out, in), computed in fp32 and returned in <paramref name="dtype"/> (default: the dtype it was quantized from).</summary>
    public Tensor Dequantize(ScalarType? dtype = null)
    {
        using var weight = ToWeight(Packed.device);
        return weight.Dequantize(dtype ?? TorchDType(State.DType));
    }

    public void Dispose()
    {
        Packed.Dispose();
        Absmax.Dispose();
        QuantMap.Dispose();
        NestedAbsmax?.Dispose();
        NestedQuantMap?.Dispose();
    }

    private static readonly string[] FourBitTypeNames = ["nf4", "fp4"];

    private static readonly string[] AuxiliarySuffixes = [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"];

    /// <summary>A tensor that belongs to a 4-bit weight beside it (absmax, maps, quant state) rather than to the model.</summary>
    public static bool IsAuxiliary(string name) =>
        name.Contains(".quant_state.bitsandbytes__", StringComparison.Ordinal)
        || AuxiliarySuffixes.Any(suffix => name.EndsWith(".weight" + suffix, StringComparison.Ordinal));

    private static string? Check(Bnb4BitQuantState state, Tensor packed, Tensor absmax, Tensor quantMap, Tensor? nestedAbsmax, Tensor? nestedQuantMap)
    {
        long count = state.Shape.Aggregate(1L, (a, b) => a * b);
        long blocks = (count + state.BlockSize - 1) / state.BlockSize;
        if (state.Shape.Length != 2)
            return $"quant state shape [{string.Join(", ", state.Shape)}] is not a matrix";
        if (!FourBitQuantizer.IsValidBlockSize(state.BlockSize))
            return $"block size {state.BlockSize} is not a power of two from 32 to 4096";
        _ = TorchDType(state.DType);
        if (packed.dtype != ScalarType.Byte || packed.numel() != (count + 1) / 2)
            return $"the packed weight is {packed.dtype} with {packed.numel()} elements; [{string.Join(", ", state.Shape)}] needs {(count + 1) / 2} uint8";
        if (quantMap.numel() != 16)
            return $"quant_map has {quantMap.numel()} values, not 16";
        if (absmax.numel() != blocks)
            return $"absmax has {absmax.numel()} values; {count} weights in blocks of {state.BlockSize} need {blocks}";
        if (state.Nesting is { } nesting)
        {
            if (absmax.dtype != ScalarType.Byte)
                return $"absmax is {absmax.dtype}; double quantization stores uint8 codes";
            if (nestedQuantMap!.numel() != 256 || nestedAbsmax!.numel() != (blocks + nesting.BlockSize - 1) / nesting.BlockSize)
                return $"nested_quant_map has {nestedQuantMap.numel()} values (256 expected) and nested_absmax {nestedAbsmax!.numel()} (expected {(blocks + nesting.BlockSize - 1) / nesting.BlockSize})";
        }
        return null;
    }

    /// <summary>torch's dtype names without "torch." (as <c>str(dtype).strip("torch.")</c> leaves them).</summary>
    public static string TorchDTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float32 => "float32",
        _ => throw new ArgumentException($"a {dtype} weight cannot be quantized to 4 bits; bfloat16, float16 or float32 can"),
    };

    public static ScalarType TorchDType(string name) => name switch
    {
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        "float32" => ScalarType.Float32,
        _ => throw new InvalidDataException($"quant state dtype '{name}' is not supported; supported: bfloat16, float16, float32"),
    };
}
