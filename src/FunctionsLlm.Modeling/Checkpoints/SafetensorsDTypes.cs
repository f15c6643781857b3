using TorchSharp;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>The format's dtype strings, their element sizes and their torch counterparts.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Parses a header's dtype string exactly as the spec spells it ("F32", "BF16", ...).</summary>
    public static bool TryParse(string text, out SafetensorsDType dtype)
    {
        SafetensorsDType? parsed = text switch
        {
            "F32" => SafetensorsDType.F32,
            "F16" => SafetensorsDType.F16,
            "BF16" => SafetensorsDType.BF16,
            "F64" => SafetensorsDType.F64,
            "I64" => SafetensorsDType.I64,
            "I32" => SafetensorsDType.I32,
            "I16" => SafetensorsDType.I16,
            "I8" => SafetensorsDType.I8,
            "U8" => SafetensorsDType.U8,
            "BOOL" => SafetensorsDType.BOOL,
            _ => null,
        };
        dtype = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }

    /// <summary>The string the header uses for <paramref name="dtype"/>.</summary>
    public static string Name(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => "F32",
        SafetensorsDType.F16 => "F16",
        SafetensorsDType.BF16 => "BF16",
        SafetensorsDType.F64 => "F64",
        SafetensorsDType.I64 => "I64",
        SafetensorsDType.I32 => "I32",
        SafetensorsDType.I16 => "I16",
        SafetensorsDType.I8 => "I8",
        SafetensorsDType.U8 => "U8",
        SafetensorsDType.BOOL => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        SafetensorsDType.I8 or SafetensorsDType.U8 or SafetensorsDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static torch.ScalarType ToScalarType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => torch.ScalarType.Float32,
        SafetensorsDType.F16 => torch.ScalarType.Float16,
        SafetensorsDType.BF16 => torch.ScalarType.BFloat16,
        SafetensorsDType.F64 => torch.ScalarType.Float64,
        SafetensorsDType.I64 => torch.ScalarType.Int64,
        SafetensorsDType.I32 => torch.ScalarType.Int32,
        SafetensorsDType.I16 => torch.ScalarType.Int16,
        SafetensorsDType.I8 => torch.ScalarType.Int8,
        SafetensorsDType.U8 => torch.ScalarType.Byte,
        SafetensorsDType.BOOL => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The safetensors dtype of a torch type; false for types the format (or this project) lacks, e.g. complex.</summary>
    public static bool TryFromScalarType(torch.ScalarType type, out SafetensorsDType dtype)
    {
        SafetensorsDType? mapped = type switch
        {
            torch.ScalarType.Float32 => SafetensorsDType.F32,
            torch.ScalarType.Float16 => SafetensorsDType.F16,
            torch.ScalarType.BFloat16 => SafetensorsDType.BF16,
            torch.ScalarType.Float64 => SafetensorsDType.F64,
            torch.ScalarType.Int64 => SafetensorsDType.I64,
            torch.ScalarType.Int32 => SafetensorsDType.I32,
            torch.ScalarType.Int16 => SafetensorsDType.I16,
            torch.ScalarType.Int8 => SafetensorsDType.I8,
            torch.ScalarType.Byte => SafetensorsDType.U8,
            torch.ScalarType.Bool => SafetensorsDType.BOOL,
            _ => null,
        };
        dtype = mapped.GetValueOrDefault();
        return mapped.HasValue;
    }
}
