using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Training.Jobs;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm merge --model BASE --adapter ADAPTER_DIR --out MERGED_DIR</c>: folds a PEFT LoRA adapter into its base.</summary>
internal static class MergeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Base model folder (Hugging Face layout).", Required = true };
        var adapter = new Option<DirectoryInfo>("--adapter") { Description = "PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors), or a fully fine-tuned model (copied as it is).", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder for the merged model (replaced when it holds a model).", Required = true };
        var quantize = new Option<string?>("--quantize") { Description = "The adapter was trained with --quantize (QLoRA): merge into the base quantized the same way, then dequantized, so the merged model is the one trained (16 bits can hold its update)." };
        quantize.AcceptOnlyFromAmong("nf4", "fp4");
        var tolerance = new Option<double?>("--tolerance") { Description = "Largest allowed logit difference between the merged model and base + adapter (default: 1e-3 for F32 weights, 1% of the logit range for BF16/F16)." };
        var command = new Command("merge", "Merge a LoRA adapter into its base model and write a complete model folder, after a parity check.")
        {
            model, adapter, outDir, quantize, tolerance,
        };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var result = MergeJob.Run(parse.GetValue(model)!.FullName, parse.GetValue(adapter)!.FullName, parse.GetValue(outDir)!.FullName,
                new LoraMergeOptions(Tolerance: parse.GetValue(tolerance), QuantizedBase: FourBitOptions.Parse(parse.GetValue(quantize))));
            if (result.Parity is not { } parity)
            {
                output.WriteLine($"a fully fine-tuned model: copied as trained into {result.OutputDir}");
                return FlmCli.Success;
            }
            if (parity.DequantizedBase)
            {
                output.WriteLine(parse.GetValue(quantize) is { } type && !IsFourBit(parse.GetValue(model)!.FullName)
                    ? $"merged into the base quantized to {type} as the adapter trained on it, dequantized: the merged model is written dense"
                    : "the base is a 4-bit checkpoint: its weights were dequantized and the merged model is written dense, without quantization_config");
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"merged {result.MergedModules} layers into {result.OutputDir}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"parity: max |logit difference| {parity.MaxLogitDifference:G3} (tolerance {parity.Tolerance:G3}); fp32 merge arithmetic {parity.MaxLogitDifferenceFp32:G3}"));
            return FlmCli.Success;
        }));
        return command;
    }

    private static bool IsFourBit(string modelDir) => ModelConfig.Load(modelDir).Quantization is not null;
}
