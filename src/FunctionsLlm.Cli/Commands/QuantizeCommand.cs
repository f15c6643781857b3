using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Quantization;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm quantize --model DIR --out DIR --type nf4|fp4 [--block-size 64] [--double-quant]</c>: writes the model as a
/// bitsandbytes 4-bit checkpoint, the layout transformers saves (and loads) for <c>BitsAndBytesConfig(load_in_4bit=True)</c>.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (Hugging Face layout) to quantize.", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder for the 4-bit model (replaced when it holds a model).", Required = true };
        var type = new Option<string>("--type") { Description = "4-bit data type: nf4 (NormalFloat, QLoRA's) or fp4.", DefaultValueFactory = _ => "nf4" };
        type.AcceptOnlyFromAmong("nf4", "fp4");
        var blockSize = new Option<int>("--block-size") { Description = "Values per absmax scale: a power of two from 32 to 4096.", DefaultValueFactory = _ => 64 };
        var doubleQuant = new Option<bool>("--double-quant") { Description = "Quantize the absmax scales too (8 bits in blocks of 256; bnb_4bit_use_double_quant)." };
        var command = new Command("quantize", "Write a model's linear weights in bitsandbytes' 4-bit format (bnb-4bit), for QLoRA and smaller downloads.")
        {
            model, outDir, type, blockSize, doubleQuant,
        };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            int block = parse.GetValue(blockSize);
            if (!FourBitQuantizer.IsValidBlockSize(block))
                throw new UsageException($"--block-size {block}: must be a power of two from 32 to 4096");
            var options = new FourBitOptions(FourBitType.Parse(parse.GetValue(type)!), block, parse.GetValue(doubleQuant));
            var result = ModelQuantizer.Quantize(parse.GetValue(model)!.FullName, parse.GetValue(outDir)!.FullName, options);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"quantized {result.QuantizedWeights.Count} linear weights to {options.Type.Name} (blocks of {options.BlockSize}{(options.DoubleQuant ? ", double quantization" : "")}) into {result.OutputDir}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tensors: {result.SourceBytes / 1e6:F1} MB → {result.WrittenBytes / 1e6:F1} MB"));
            return FlmCli.Success;
        }));
        return command;
    }
}
