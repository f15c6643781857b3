namespace FunctionsLlm.Modeling.Quantization;

/// <summary>How to quantize a model's linear weights to 4 bits: bitsandbytes' <c>BitsAndBytesConfig(load_in_4bit=True, …)</c>.</summary>
public sealed record FourBitOptions
{
    public FourBitOptions(FourBitType type, int blockSize = 64, bool doubleQuant = false)
    {
        if (!FourBitQuantizer.IsValidBlockSize(blockSize))
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size must be a power of two from 32 to 4096 (bitsandbytes uses 64)");
        Type = type;
        BlockSize = blockSize;
        DoubleQuant = doubleQuant;
    }

    public FourBitType Type { get; }

    public int BlockSize { get; }

    /// <summary>Quantize the absmax values too: 8 bits in blocks of 256 around their mean (bnb_4bit_use_double_quant).</summary>
    public bool DoubleQuant { get; }

    public static FourBitOptions Nf4 { get; } = new(FourBitType.Nf4);

    /// <summary><c>nf4</c> or <c>fp4</c> (<c>none</c> and empty give null), as the CLI and job hyperparameters name them.</summary>
    public static FourBitOptions? Parse(string? quantize, int blockSize = 64, bool doubleQuant = false) =>
        string.IsNullOrEmpty(quantize) || quantize == "none" ? null : new FourBitOptions(FourBitType.Parse(quantize), blockSize, doubleQuant);
}
