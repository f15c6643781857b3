using System.CommandLine;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Data.Formatting;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm pipeline [INPUT]</c>: the embedded pipeline on local folders. Today it runs the data stages (clean, format)
/// into the same layout the Blob pipeline uses (<c>OUT/datasets/{run}/…</c>); training, merge, evaluation and
/// publishing join it as they land.
/// </summary>
internal static class PipelineCommand
{
    public const string DefaultInput = "samples/customer-service.jsonl";
    public const string DefaultBaseModel = "samples/base-model";
    public const string DefaultTokenizerOnly = "samples/tokenizer";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Argument<FileInfo?>("INPUT") { Description = $"Uploaded data (default: {DefaultInput}).", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<DirectoryInfo?>("--model") { Description = $"Base model folder (default: {DefaultBaseModel}, or {DefaultTokenizerOnly} until the demo model exists)." };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Local artifact store root.", DefaultValueFactory = _ => new DirectoryInfo("out") };
        var template = new Option<PromptTemplate>("--template") { Description = "Prompt template: chat (the model's own, handles multi-turn) or seed.", DefaultValueFactory = _ => PromptTemplate.Chat };
        var command = new Command("pipeline", "Run the pipeline embedded on this machine (local folders).") { input, model, outDir, template };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var inputPath = parse.GetValue(input)?.FullName ?? Path.GetFullPath(DefaultInput);
            var modelPath = parse.GetValue(model)?.FullName
                ?? (Directory.Exists(DefaultBaseModel) ? Path.GetFullPath(DefaultBaseModel) : Path.GetFullPath(DefaultTokenizerOnly));
            var store = new LocalFolderStore(parse.GetValue(outDir)!.FullName);
            var runId = Path.GetFileNameWithoutExtension(inputPath);
            var runDir = Path.GetDirectoryName(store.PathOf(BlobLayout.Datasets, BlobLayout.Dataset.Cleaned(runId)))!;

            output.WriteLine($"[1/2] clean  {inputPath}");
            var cleaning = new Cleaner(new CleaningOptions()).CleanFile(inputPath, runDir);
            ReportPrinter.Print(output, error, cleaning, runDir);
            if (cleaning.RecordsOut == 0)
            {
                error.WriteLine($"flm: no usable records in {inputPath}; see {Path.Combine(runDir, Cleaner.RejectedFile)}");
                return FlmCli.UnreadableInput;
            }

            output.WriteLine($"[2/2] format with {modelPath}");
            var tokenizer = HfTokenizer.Load(modelPath);
            var formatting = new Formatter(tokenizer, new FormattingOptions { Template = parse.GetValue(template) })
                .FormatFile(Path.Combine(runDir, Cleaner.CleanedFile), runDir);
            FormatReportPrinter.Print(output, formatting, runDir);
            output.WriteLine($"datasets ready in {runDir}");
            return FlmCli.Success;
        }));
        return command;
    }
}
