using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Cli.Pipeline;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm pipeline [INPUT]</c>: the whole pipeline on this machine (<see cref="EmbeddedPipeline"/>): clean, format,
/// train each candidate, merge the best, evaluate it against the base, publish <c>OUT/models/{model}/current.json</c>.
/// Run options come from <c>INPUT.pipeline.json</c> when it exists (the sidecar the Blob pipeline reads).
/// </summary>
internal static class PipelineCommand
{
    public const string DefaultInput = "samples/customer-service.jsonl";
    public const string DefaultBaseModel = "samples/base-model";

    /// <summary>The shell's code for a command stopped by a signal (128 + SIGINT).</summary>
    public const int Cancelled = 130;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Argument<FileInfo?>("INPUT") { Description = $"Uploaded data (default: {DefaultInput}); run options from INPUT.pipeline.json when it exists.", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<DirectoryInfo?>("--model") { Description = $"Base model folder, Hugging Face layout (default: {DefaultBaseModel})." };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Local artifact store root (the Blob containers as folders).", DefaultValueFactory = _ => new DirectoryInfo("out") };
        var candidates = new Option<int?>("--candidates") { Description = "Train this many candidates, a learning-rate sweep around the run's (x1, x1/2, x2, x1/4, …), and keep the best by eval loss." };
        var name = new Option<string?>("--name") { Description = "The model to publish: OUT/models/NAME/current.json (default: the sidecar's modelName, else the input's file name)." };
        var export = new Option<string?>("--export") { Description = $"Also publish these beside the merged model, comma-separated: {string.Join(", ", ModelExports.Known)} (gguf-q8_0: a GGUF for llama.cpp and Ollama); used when the run's sidecar has no \"export\"." };
        var command = new Command("pipeline", "Run the whole pipeline on this machine: clean → format → train → merge → evaluate → publish.")
        {
            input, model, outDir, candidates, name, export,
        };
        command.SetAction((parse, cancellationToken) => CommandFailure.RunAsync(error, async () =>
        {
            var inputPath = parse.GetValue(input)?.FullName ?? Path.GetFullPath(DefaultInput);
            if (!File.Exists(inputPath))
                throw new UsageException($"{inputPath} does not exist");
            var modelPath = parse.GetValue(model)?.FullName ?? Path.GetFullPath(DefaultBaseModel);
            if (parse.GetValue(candidates) is < 1 or > 16)
                throw new UsageException("--candidates must be between 1 and 16");
            var givenName = parse.GetValue(name);
            var modelName = givenName ?? ModelNameOf(inputPath);
            try
            {
                ArtifactName.ValidateName(modelName);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"'{modelName}' cannot name a model: {e.Message} (use --name)");
            }
            var exports = ModelExports.TryParseList(parse.GetValue(export), out var exportProblem)
                ?? throw new UsageException($"--export: {exportProblem}");
            var request = new EmbeddedRunRequest(inputPath, modelPath, parse.GetValue(outDir)!.FullName, modelName, givenName is not null,
                parse.GetValue(candidates), exports);
            using var stop = new Termination(cancellationToken);
            EmbeddedRunOutcome outcome;
            try
            {
                outcome = await new EmbeddedPipeline(output).RunAsync(request, stop.Token);
            }
            catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
            {
                error.WriteLine("flm: cancelled; a rerun starts a new run (checkpoints of this one stay under OUT/checkpoints)");
                return Cancelled;
            }
            if (outcome.Result is not { } result)
            {
                error.WriteLine($"flm: run {outcome.RunId} failed: {outcome.Failure}");
                error.WriteLine($"flm: the run summary is {outcome.SummaryPath}");
                return FlmCli.UnreadableInput;
            }
            var loss = result.EvalLoss is { } l ? string.Create(CultureInfo.InvariantCulture, $", eval loss {l:F4}") : "";
            output.WriteLine($"published {result.ModelName} version {result.ModelVersion} (best candidate {result.BestCandidate}{loss})");
            bool merged = result.Published != PublishMode.Adapter;
            if (merged)
                output.WriteLine($"  model:   {outcome.ModelFolder}");
            if (outcome.AdapterFolder is { } adapter)
                output.WriteLine($"  adapter: {adapter}");
            foreach (string file in outcome.ExportFiles)
                output.WriteLine($"  gguf:    {file}");
            output.WriteLine($"  report:  {outcome.Report}");
            output.WriteLine($"  summary: {outcome.SummaryPath}");
            output.WriteLine(merged
                ? $"try it:   ./flm serve --model {Relative(outcome.ModelFolder!)} --name {result.ModelName}"
                : $"try it:   ./flm serve --model {Relative(outcome.BaseFolder!)} --lora {result.ModelName}={Relative(outcome.AdapterFolder!)}");
            return FlmCli.Success;
        }));
        return command;
    }

    /// <summary><c>faq.jsonl</c> → <c>faq</c>: lowercase letters, digits and dashes.</summary>
    internal static string ModelNameOf(string inputPath)
    {
        var stem = Path.GetFileNameWithoutExtension(inputPath).ToLowerInvariant();
        var name = new string([.. stem.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        return name.Length > 0 ? name : "model";
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
