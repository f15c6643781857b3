using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training;
using FunctionsLlm.Training.Checkpoints;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm train --model BASE --data FORMATTED_DIR --out RUN_DIR ...</c>: LoRA (or full) fine-tuning.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var d = new TrainingOptions();
        var model = new Option<DirectoryInfo>("--model") { Description = "Base model folder (Hugging Face layout; with --full, config.json alone starts from scratch).", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "Folder written by 'flm format' (train.jsonl, eval.jsonl).", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Run folder: adapter/ (or model/), checkpoints/, tensorboard/, metrics.jsonl.", Required = true };
        var loraR = new Option<int>("--lora-r") { Description = "LoRA rank.", DefaultValueFactory = _ => d.LoraR };
        var loraAlpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha (scaling = alpha / r).", DefaultValueFactory = _ => d.LoraAlpha };
        var loraDropout = new Option<double>("--lora-dropout") { Description = "Dropout on the LoRA input.", DefaultValueFactory = _ => d.LoraDropout };
        var rslora = new Option<bool>("--rslora") { Description = "Scale by alpha / sqrt(r) (rank-stabilised LoRA)." };
        var targets = new Option<string>("--target-modules") { Description = "Comma-separated module names, or all-linear.", DefaultValueFactory = _ => string.Join(',', d.TargetModules) };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training data.", DefaultValueFactory = _ => d.Epochs };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Stop after this many optimizer steps." };
        var batchSize = new Option<int>("--batch-size") { Description = "Records per micro-batch.", DefaultValueFactory = _ => d.BatchSize };
        var gradAccum = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step.", DefaultValueFactory = _ => d.GradientAccumulation };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var warmupRatio = new Option<double>("--warmup-ratio") { Description = "Share of steps with linear warmup.", DefaultValueFactory = _ => d.WarmupRatio };
        var warmupSteps = new Option<int?>("--warmup-steps") { Description = "Warmup steps (overrides --warmup-ratio)." };
        var scheduler = new Option<string>("--scheduler") { Description = "cosine, linear or constant.", DefaultValueFactory = _ => "cosine" };
        var maxSeqLen = new Option<int>("--max-seq-len") { Description = "Records are cut to this many tokens.", DefaultValueFactory = _ => d.MaxSequenceLength };
        var loggingSteps = new Option<int>("--logging-steps") { DefaultValueFactory = _ => d.LoggingSteps };
        var evalSteps = new Option<int>("--eval-steps") { DefaultValueFactory = _ => d.EvalSteps };
        var saveSteps = new Option<int>("--save-steps") { DefaultValueFactory = _ => d.SaveSteps };
        var saveTotalLimit = new Option<int>("--save-total-limit") { Description = "Checkpoints kept (the best is always kept).", DefaultValueFactory = _ => d.SaveTotalLimit!.Value };
        var patience = new Option<int?>("--early-stopping-patience") { Description = "Stop after N evaluations without a lower eval loss." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => d.Seed };
        var resume = new Option<string?>("--resume") { Description = "latest (the newest checkpoint in --out) or a checkpoint folder." };
        var groupByLength = new Option<bool>("--group-by-length") { Description = "Batch records of similar length (less padding; steps then weigh short and long records alike).", DefaultValueFactory = _ => d.GroupByLength };
        var full = new Option<bool>("--full") { Description = "Train every parameter (small models, from scratch) instead of a LoRA adapter." };
        var command = new Command("train", "Fine-tune a model on formatted data (LoRA by default).")
        {
            model, data, outDir, loraR, loraAlpha, loraDropout, rslora, targets, epochs, maxSteps, batchSize, gradAccum, lr, warmupRatio,
            warmupSteps, scheduler, maxSeqLen, groupByLength, loggingSteps, evalSteps, saveSteps, saveTotalLimit, patience, seed, resume, full,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandFailure.Run(error, () =>
        {
            var options = new TrainingOptions
            {
                LoraR = parse.GetValue(loraR),
                LoraAlpha = parse.GetValue(loraAlpha),
                LoraDropout = parse.GetValue(loraDropout),
                UseRsLora = parse.GetValue(rslora),
                TargetModules = parse.GetValue(targets)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                Epochs = parse.GetValue(epochs),
                MaxSteps = parse.GetValue(maxSteps),
                BatchSize = parse.GetValue(batchSize),
                GradientAccumulation = parse.GetValue(gradAccum),
                LearningRate = parse.GetValue(lr),
                WarmupRatio = parse.GetValue(warmupRatio),
                WarmupSteps = parse.GetValue(warmupSteps),
                Scheduler = Enum.TryParse<LearningRateScheduler>(parse.GetValue(scheduler), ignoreCase: true, out var kind)
                    ? kind : throw new UsageException($"--scheduler: '{parse.GetValue(scheduler)}' is not one of cosine, linear, constant"),
                MaxSequenceLength = parse.GetValue(maxSeqLen),
                GroupByLength = parse.GetValue(groupByLength),
                LoggingSteps = parse.GetValue(loggingSteps),
                EvalSteps = parse.GetValue(evalSteps),
                SaveSteps = parse.GetValue(saveSteps),
                SaveTotalLimit = parse.GetValue(saveTotalLimit),
                EarlyStoppingPatience = parse.GetValue(patience),
                Seed = parse.GetValue(seed),
                Full = parse.GetValue(full),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            string baseDir = parse.GetValue(model)!.FullName;
            string runDir = parse.GetValue(outDir)!.FullName;
            string? checkpoint = ResumePoint(parse.GetValue(resume), runDir);

            bool fromScratch = options.Full && !Directory.EnumerateFiles(baseDir, "*.safetensors").Any();
            using var lm = fromScratch ? ModelLoader.Initialize(baseDir, options.Seed) : ModelLoader.Load(baseDir);
            string dataDir = parse.GetValue(data)!.FullName;
            var train = TrainingData.Load(Path.Combine(dataDir, "train.jsonl"), options.MaxSequenceLength, lm.Config.VocabSize);
            string evalPath = Path.Combine(dataDir, "eval.jsonl");
            var eval = File.Exists(evalPath) && new FileInfo(evalPath).Length > 0
                ? TrainingData.Load(evalPath, options.MaxSequenceLength, lm.Config.VocabSize) : [];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(options.Full ? "full-parameter" : "LoRA")} training of {baseDir}{(fromScratch ? " (from scratch)" : "")}: {train.Count} training and {eval.Count} eval records"));

            var result = new Training.Trainer(options, error).Run(lm, baseDir, train, eval, runDir, checkpoint, cancellationToken: cancellationToken);
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
