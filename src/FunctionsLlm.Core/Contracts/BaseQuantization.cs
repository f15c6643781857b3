using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// How a LoRA run holds its frozen base (<c>none|nf4|fp4</c> in JSON, as <c>flm train --quantize</c>): as stored, or
/// quantized at load to bitsandbytes' 4-bit NormalFloat or FP4 (QLoRA). A base already stored in 4 bits stays so.
/// </summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<BaseQuantization>))]
public enum BaseQuantization
{
    None = 1,
    Nf4 = 2,
    Fp4 = 3,
}
