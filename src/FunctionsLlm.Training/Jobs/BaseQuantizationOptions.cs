using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Quantization;

namespace FunctionsLlm.Training.Jobs;

/// <summary>A job's <see cref="Hyperparameters.Quantize"/> as the loader's 4-bit options (bitsandbytes' defaults: blocks of 64, no double quantization).</summary>
public static class BaseQuantizationOptions
{
    public static FourBitOptions? For(BaseQuantization? quantize) => quantize switch
    {
        BaseQuantization.Nf4 => FourBitOptions.Nf4,
        BaseQuantization.Fp4 => new FourBitOptions(FourBitType.Fp4),
        _ => null,
    };
}
