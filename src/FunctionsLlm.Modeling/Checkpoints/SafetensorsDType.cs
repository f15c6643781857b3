namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// The safetensors element types this project reads and writes. Member names are the format's own strings
/// ("F32", "BF16", ...); <see cref="SafetensorsDTypes"/> maps them to torch types and sizes.
/// </summary>
public enum SafetensorsDType
{
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
}
