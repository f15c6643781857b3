using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Training;
using FunctionsLlm.Training.Checkpoints;
using FunctionsLlm.Training.Jobs;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm train --model BASE --data FORMATTED_DIR --out RUN_DIR ...</c>: LoRA (or full) fine-tuning.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var hyperparameters = HyperparameterOptions.Create();
        var model = new Option<DirectoryInfo>("--model") { Description = "Base model folder (Hugging Face layout; with --full, config.json alone starts from scratch).", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "Folder written by 'flm format' (train.jsonl, eval.jsonl).", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Run folder: adapter/ (or model/), checkpoints/, tensorboard/, metrics.jsonl.", Required = true };
        var resume = new Option<string?>("--resume") { Description = "latest (the newest checkpoint in --out) or a checkpoint folder." };
        var command = new Command("train", "Fine-tune a model on formatted data (LoRA by default). The training options are a train job's hyperparameters, kebab-cased.")
        {
            model, data, outDir, resume,
        };
        foreach (var option in hyperparameters.Options)
            command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandFailure.Run(error, () =>
        {
            var options = hyperparameters.Bind(parse);
            string baseDir = parse.GetValue(model)!.FullName;
            string runDir = parse.GetValue(outDir)!.FullName;
            string? checkpoint = ResumePoint(parse.GetValue(resume), runDir);

            string dataDir = parse.GetValue(data)!.FullName;
            var result = TrainJob.Run(options, baseDir, Path.Combine(dataDir, "train.jsonl"), Path.Combine(dataDir, "eval.jsonl"), runDir, checkpoint,
                console: error, started: output.WriteLine, cancellationToken: cancellationToken);
            output.WriteLine(result.TrainableSummary);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Steps} steps{(result.StoppedEarly ? " (stopped early)" : "")}; eval loss {Describe(result.FinalEvalLoss)}, best {Describe(result.BestEvalLoss)} at step {result.BestStep?.ToString(CultureInfo.InvariantCulture) ?? "–"}"));
            output.WriteLine($"wrote {result.OutputDir}");
            return FlmCli.Success;
        })));
        return command;
    }

    private static string Describe(double? loss) => loss?.ToString("F4", CultureInfo.InvariantCulture) ?? "–";

    private static string? ResumePoint(string? resume, string runDir)
    {
        if (resume is null)
            return null;
        if (resume == "latest")
            return new CheckpointStore(runDir).Latest() ?? throw new UsageException($"--resume latest: no checkpoint in {Path.Combine(runDir, "checkpoints")}");
        string path = Path.GetFullPath(resume);
        return File.Exists(Path.Combine(path, TrainerState.FileName)) ? path
            : throw new UsageException($"--resume: {path} is not a checkpoint folder (no {TrainerState.FileName})");
    }
}
