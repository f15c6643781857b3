using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Gguf;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm export-gguf --model DIR --out FILE.gguf [--type f32|f16|bf16|q8_0] [--ollama]</c>: writes a model folder (a
/// merged fine-tune or any supported base) as one GGUF file for llama.cpp and Ollama, and with --ollama a Modelfile
/// beside it.
/// </summary>
internal static class ExportGgufCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (Hugging Face layout), e.g. what flm merge wrote.", Required = true };
        var outFile = new Option<FileInfo>("--out") { Description = "The GGUF file to write (replaced if it exists).", Required = true };
        var type = new Option<string>("--type") { Description = "Weight matrices as f32, f16, bf16 or q8_0 (8-bit blocks, as llama.cpp's Q8_0); norms and biases stay f32.", DefaultValueFactory = _ => "q8_0" };
        type.AcceptOnlyFromAmong([.. GgufExporter.Types.Keys]);
        var ollama = new Option<bool>("--ollama") { Description = "Also write an Ollama Modelfile next to the GGUF (chat template, stop tokens, sampling defaults)." };
        var command = new Command("export-gguf", "Write a model as a GGUF file that llama.cpp and Ollama run.") { model, outFile, type, ollama };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            string modelDir = parse.GetValue(model)!.FullName, path = parse.GetValue(outFile)!.FullName;
            var result = GgufExporter.Export(modelDir, path, GgufExporter.Types[parse.GetValue(type)!]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {result.Path}: {result.Architecture}, {result.Tensors} tensors, {result.Type} weights, {result.Bytes / 1e6:F1} MB"));
            foreach (string warning in result.Warnings)
                error.WriteLine($"flm: warning: {warning}");
            if (parse.GetValue(ollama))
            {
                var modelfile = OllamaModelfile.Create(modelDir, Path.GetFileName(path));
                string modelfilePath = Path.Combine(Path.GetDirectoryName(path)!, "Modelfile");
                File.WriteAllText(modelfilePath, modelfile.Text);
                output.WriteLine($"wrote {modelfilePath}{(modelfile.Format is { } format ? $" (chat format {format})" : "")}; run: ollama create NAME -f {modelfilePath}");
                foreach (string warning in modelfile.Warnings)
                    error.WriteLine($"flm: warning: {warning}");
            }
            return FlmCli.Success;
        }));
        return command;
    }
}
