namespace FunctionsLlm.Modeling.Gguf;

/// <summary>ggml's tensor types that an export writes, with their numbers in the GGUF tensor info.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
    BF16 = 30,
}

public static class GgmlTypes
{
    /// <summary>Bytes of a row of <paramref name="elements"/> values; Q8_0 rows hold whole blocks of 32.</summary>
    public static long RowBytes(this GgmlType type, long elements) => type switch
    {
        GgmlType.F32 => elements * 4,
        GgmlType.F16 or GgmlType.BF16 => elements * 2,
        GgmlType.Q8_0 when elements % 32 == 0 => elements / 32 * 34,
        GgmlType.Q8_0 => throw new ArgumentException($"Q8_0 rows are whole blocks of 32 values; this one has {elements}", nameof(elements)),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
