using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Training.Evaluation;
using FunctionsLlm.Training.Jobs;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm eval --base BASE --model MERGED_DIR --data EVAL_JSONL --out REPORT_DIR</c>: base versus fine-tuned on the
/// eval set (loss, perplexity, answers, exact match, ROUGE-L, BLEU-4) as report.json, report.md, report.html and loss.png.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var defaults = new EvaluationOptions();
        var baseModel = new Option<DirectoryInfo>("--base") { Description = "The base model folder (Hugging Face layout).", Required = true };
        var model = new Option<DirectoryInfo>("--model") { Description = "The fine-tuned (merged) model folder.", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "eval.jsonl written by 'flm format'.", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder for report.json, report.md, report.html and loss.png.", Required = true };
        var metrics = new Option<FileInfo?>("--metrics") { Description = "The training run's metrics.jsonl, for the loss curve (without it there is no loss.png)." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer.", DefaultValueFactory = _ => defaults.Sampling.MaxTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 (the default) is greedy, which makes the evaluation reproducible.", DefaultValueFactory = _ => defaults.Sampling.Temperature };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass (with a temperature above 0); 1 disables.", DefaultValueFactory = _ => defaults.Sampling.TopP };
        var seed = new Option<int>("--seed") { Description = "Seed of the first record; record i uses seed + i, for both models.", DefaultValueFactory = _ => defaults.Sampling.Seed ?? 0 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N records." };
        var batchSize = new Option<int>("--batch-size") { Description = "Records per forward pass (loss and generation).", DefaultValueFactory = _ => defaults.BatchSize };
        var command = new Command("eval", "Compare a fine-tuned model with its base on the eval set: loss, perplexity, answers, exact match, ROUGE-L, BLEU-4.")
        {
            baseModel, model, data, outDir, metrics, maxTokens, temperature, topP, seed, limit, batchSize,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandFailure.Run(error, () =>
        {
            var options = new EvaluationOptions
            {
                Sampling = defaults.Sampling with
                {
                    MaxTokens = parse.GetValue(maxTokens),
                    Temperature = parse.GetValue(temperature),
                    TopP = parse.GetValue(topP),
                    Seed = parse.GetValue(seed),
                },
                BatchSize = parse.GetValue(batchSize),
                Limit = parse.GetValue(limit),
            };
            UsageException.Check(options.Validate);
            var request = new EvaluationRequest(parse.GetValue(baseModel)!.FullName, parse.GetValue(model)!.FullName,
                parse.GetValue(data)!.FullName, parse.GetValue(metrics)?.FullName);
            var (report, files) = EvaluateJob.Run(request, parse.GetValue(outDir)!.FullName, options, log: message => error.WriteLine($"eval: {message}"),
                cancellationToken: cancellationToken);
            Print(output, report);
            foreach (string file in files)
                output.WriteLine($"wrote {file}");
            return FlmCli.Success;
        })));
        return command;
    }

    private static void Print(TextWriter output, EvaluationReport report)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.RecordCount} records; {(report.Sampling.Greedy ? "greedy" : $"temperature {report.Sampling.Temperature}, top-p {report.Sampling.TopP}")}, at most {report.Sampling.MaxTokens} tokens, seed {report.Sampling.Seed}"));
        output.WriteLine("model       eval loss  perplexity  exact match  ROUGE-L  BLEU-4");
        Row(output, "base", report.Base);
        Row(output, "fine-tuned", report.FineTuned);
        output.WriteLine(report.LossCurve.Note);
    }

    private static void Row(TextWriter output, string name, ModelSummary s) => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-10}  {s.EvalLoss,9:F4}  {s.Perplexity,10:F2}  {s.ExactMatch,11:F4}  {s.RougeL,7:F4}  {s.Bleu4,6:F4}"));
}
