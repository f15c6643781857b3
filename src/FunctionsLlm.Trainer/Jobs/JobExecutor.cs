using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training;
using FunctionsLlm.Training.Evaluation;
using FunctionsLlm.Training.Jobs;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// Called on the training thread after every optimizer step, before checkpoints are uploaded. Tests register one to
/// kill or stop a trainer at a chosen step; the app registers none.
/// </summary>
public sealed class JobHooks
{
    public Action<string, TrainingProgress>? AfterStep { get; init; }
}

/// <summary>
/// Runs one job: inputs from the store into the cache folder (<c>{cache}/inputs/{container}/{prefix}</c>, reused while
/// their ETags match), the work in <c>{cache}/jobs/{id}/</c> on a dedicated thread, the outputs back to the spec's
/// output prefix in <see cref="TrainingJobSpec.OutputContainer"/>.
/// </summary>
public sealed class JobExecutor(IArtifactStore store, TrainerSettings settings, JobRegistry registry, ILogger<JobExecutor> logger, JobHooks? hooks = null)
{
    private const string AdapterConfigFile = "adapter_config.json";

    // One download at a time per cache folder (jobs running side by side may share a base model).
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _folderLocks = new(StringComparer.Ordinal);

    public string WorkFolder(string jobId) => Path.Combine(settings.CacheFolder, "jobs", jobId);

    public Task<JobResult> RunAsync(JobEntry job, CancellationToken cancellationToken) => job.Spec.Kind switch
    {
        JobKind.Train => TrainAsync(job, cancellationToken),
        JobKind.Merge => MergeAsync(job, cancellationToken),
        JobKind.Evaluate => EvaluateAsync(job, cancellationToken),
        _ => throw new ArgumentException($"job kind {job.Spec.Kind} is not defined"),
    };

    private async Task<JobResult> TrainAsync(JobEntry job, CancellationToken cancellationToken)
    {
        var spec = job.Spec;
        var options = spec.Hyperparameters;
        string work = FreshWorkFolder(job.Id);
        string runDir = Path.Combine(work, "run");
        string baseDir = await ModelAsync(spec.BaseModelPrefix, "base model", cancellationToken);
        string trainPath = await DatasetAsync(spec.DatasetPrefixes!.Train!, Path.Combine(work, "data", "train.jsonl"), "training data", cancellationToken);
        string? evalPath = spec.DatasetPrefixes.Eval is { } eval
            ? await DatasetAsync(eval, Path.Combine(work, "data", "eval.jsonl"), "eval data", cancellationToken)
            : null;
        var mirror = new CheckpointMirror(store, job.Id, runDir);
        string? resumeFrom = await mirror.RestoreAsync(cancellationToken);
        if (resumeFrom is not null)
            logger.LogInformation("job {Id} resumes from {Checkpoint}", job.Id, resumeFrom);

        JobProgress? last = job.Status.Progress;
        void OnStep(TrainingProgress p)
        {
            hooks?.AfterStep?.Invoke(job.Id, p);
            try
            {
                mirror.SyncAsync(CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                // Storage hiccups do not stop training: the checkpoint is uploaded at the next step if it is still kept.
                logger.LogWarning(e, "job {Id}: uploading checkpoints at step {Step} failed; retrying at the next step", job.Id, p.Step);
            }
            last = new JobProgress
            {
                Step = p.Step,
                TotalSteps = p.TotalSteps,
                Loss = Finite(p.Loss),
                EvalLoss = Finite(p.EvalLoss),
                TokensPerSecond = Finite(p.TokensPerSecond),
                EtaSeconds = Finite(p.EtaSeconds),
            };
            try
            {
                registry.ReportProgressAsync(job, last, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "job {Id}: writing progress at step {Step} failed", job.Id, p.Step);
            }
        }

        TrainingResult result;
        try
        {
            result = await OnOwnThread(() => TrainJob.Run(options, baseDir, trainPath, evalPath, runDir, resumeFrom, new StepObserver(OnStep),
                started: message => logger.LogInformation("job {Id}: {Message}", job.Id, message), quantizeAboveParameters: settings.QuantizeAboveParameters,
                cancellationToken: cancellationToken));
        }
        catch (OperationCanceledException)
        {
            // The trainer wrote a checkpoint before stopping: keep it, for a restart to resume from.
            await mirror.SyncAsync(CancellationToken.None);
            throw;
        }
        await mirror.SyncAsync(cancellationToken);
        await store.UploadFolderAsync(BlobLayout.Checkpoints, spec.OutputPrefix, result.OutputDir, cancellationToken: cancellationToken);
        if (File.Exists(mirror.MetricsPath))
            await store.UploadFileAsync(BlobLayout.Checkpoints, spec.OutputPrefix + "metrics.jsonl", mirror.MetricsPath, cancellationToken);

        var metrics = new Dictionary<string, double> { ["steps"] = result.Steps };
        if (result.BestStep is { } best)
            metrics["bestStep"] = best;
        if (Finite(result.BestEvalLoss) is { } bestLoss)
            metrics["bestEvalLoss"] = bestLoss;
        if (Finite(result.FinalEvalLoss) is { } evalLoss)
            metrics["evalLoss"] = evalLoss;
        if (last?.Loss is { } trainLoss)
            metrics["trainLoss"] = trainLoss;
        if (result.FourBitBase)
            metrics[JobResult.FourBitBaseMetric] = 1;
        return new JobResult { OutputPrefix = spec.OutputPrefix, Metrics = new ReadOnlyDictionary<string, double>(metrics) };
    }

    private async Task<JobResult> MergeAsync(JobEntry job, CancellationToken cancellationToken)
    {
        var spec = job.Spec;
        string work = FreshWorkFolder(job.Id);
        string baseDir = await ModelAsync(spec.BaseModelPrefix, "base model", cancellationToken);
        string trained = await TrainedAsync(spec, cancellationToken);
        string merged = Path.Combine(work, "merged");
        var options = new LoraMergeOptions(QuantizedBase: BaseQuantizationOptions.For(spec.Hyperparameters.Quantize));
        var result = await OnOwnThread(() => MergeJob.Run(baseDir, trained, merged, options));
        var metrics = new Dictionary<string, double> { ["mergedModules"] = result.MergedModules };
        if (result.Parity is { } parity)
        {
            metrics["maxLogitDifference"] = parity.MaxLogitDifference;
            metrics["tolerance"] = parity.Tolerance;
            if (parity.DequantizedBase)
                metrics[JobResult.FourBitBaseMetric] = 1;
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Exports go up first, beside the folder (not in it: they are not part of the model or its fingerprint), named
        // after the model ({model}/{version}/ → {model}).
        string modelName = spec.OutputPrefix.Split('/')[0];
        foreach (string export in spec.Exports ?? [])
        {
            string gguf = Path.Combine(work, "exports", ModelExports.FileName(export));
            await OnOwnThread(() => GgufExporter.Export(merged, gguf, GgufExporter.Types[ModelExports.GgufType(export)], modelName));
            cancellationToken.ThrowIfCancellationRequested();
            await store.UploadFileAsync(BlobLayout.Models, spec.OutputPrefix + ModelExports.FileName(export), gguf, cancellationToken);
        }
        // Files are replaced, never deleted: the output prefix may hold what others put there (a manifest, other versions).
        await store.UploadFolderAsync(BlobLayout.Models, spec.OutputPrefix, merged, last: "config.json", cancellationToken);
        return new JobResult
        {
            OutputPrefix = spec.OutputPrefix,
            Metrics = new ReadOnlyDictionary<string, double>(metrics),
            BaseSha256 = await DirectoryFingerprint.ComputeSha256Async(baseDir, cancellationToken),
            ModelSha256 = await DirectoryFingerprint.ComputeSha256Async(merged, cancellationToken),
        };
    }

    private async Task<JobResult> EvaluateAsync(JobEntry job, CancellationToken cancellationToken)
    {
        var spec = job.Spec;
        string work = FreshWorkFolder(job.Id);
        string baseDir = await ModelAsync(spec.BaseModelPrefix, "base model", cancellationToken);
        // The folder the merge job published, as it is served: not a second merge of the adapter.
        string fineTuned = await ModelAsync(spec.ModelPrefix!, "merged model", cancellationToken);
        string evalPath = await DatasetAsync(spec.DatasetPrefixes!.Eval!, Path.Combine(work, "data", "eval.jsonl"), "eval data", cancellationToken);
        string? metricsPath = null;
        if (spec.AdapterPrefix is { } adapter && await store.ExistsAsync(BlobLayout.Checkpoints, adapter + "metrics.jsonl", cancellationToken))
        {
            metricsPath = Path.Combine(work, "data", "metrics.jsonl");
            await store.DownloadFileAsync(BlobLayout.Checkpoints, adapter + "metrics.jsonl", metricsPath, cancellationToken);
        }
        string reportDir = Path.Combine(work, "report");
        var options = new EvaluationOptions
        {
            Sampling = new EvaluationOptions().Sampling with { MaxTokens = settings.EvalMaxTokens },
            BatchSize = settings.EvalBatchSize,
            Limit = settings.EvalLimit,
        };
        // The report names the models where they are published, not this trainer's cache folders.
        var (report, _) = await OnOwnThread(() => EvaluateJob.Run(new EvaluationRequest(baseDir, fineTuned, evalPath, metricsPath), reportDir, options,
            ($"{BlobLayout.Models}/{spec.BaseModelPrefix}", $"{BlobLayout.Models}/{spec.ModelPrefix}"),
            message => logger.LogInformation("job {Id}: {Message}", job.Id, message), cancellationToken));
        await store.UploadFolderAsync(BlobLayout.Runs, spec.OutputPrefix, reportDir, cancellationToken: cancellationToken);
        var metrics = new Dictionary<string, double> { ["records"] = report.RecordCount };
        foreach (var (model, s) in new[] { ("", report.FineTuned), ("base", report.Base) })
        {
            foreach (var (name, value) in new[] { ("EvalLoss", s.EvalLoss), ("Perplexity", s.Perplexity), ("ExactMatch", s.ExactMatch), ("RougeL", s.RougeL), ("Bleu4", s.Bleu4) })
            {
                if (double.IsFinite(value))   // evalLoss … for the fine-tuned model, baseEvalLoss … for the base
                    metrics[model.Length == 0 ? char.ToLowerInvariant(name[0]) + name[1..] : model + name] = value;
            }
        }
        return new JobResult
        {
            OutputPrefix = spec.OutputPrefix,
            Metrics = new ReadOnlyDictionary<string, double>(metrics),
            ModelSha256 = await DirectoryFingerprint.ComputeSha256Async(fineTuned, cancellationToken),
        };
    }

    private string FreshWorkFolder(string jobId)
    {
        string work = WorkFolder(jobId);
        if (Directory.Exists(work))
            Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);
        return work;
    }

    private async Task<string> ModelAsync(string prefix, string what, CancellationToken cancellationToken)
    {
        string dir = await DownloadAsync(BlobLayout.Models, prefix, what, cancellationToken);
        return File.Exists(Path.Combine(dir, "config.json")) ? dir
            : throw new InputMissingException($"{what} not found: {BlobLayout.Models}/{prefix} has no config.json");
    }

    /// <summary>A train job's output: a PEFT adapter, or a whole Hugging Face model when it trained every parameter (<c>full</c>).</summary>
    private async Task<string> TrainedAsync(TrainingJobSpec spec, CancellationToken cancellationToken)
    {
        string prefix = spec.AdapterPrefix!;
        string dir = await DownloadAsync(BlobLayout.Checkpoints, prefix, "adapter", cancellationToken);
        if (File.Exists(Path.Combine(dir, AdapterConfigFile)) || File.Exists(Path.Combine(dir, "config.json")))
            return dir;
        throw new InputMissingException(
            $"adapter not found: {BlobLayout.Checkpoints}/{prefix} has neither {AdapterConfigFile} (a LoRA adapter) nor config.json (a fully fine-tuned model)");
    }

    private async Task<string> DatasetAsync(string name, string path, string what, CancellationToken cancellationToken)
    {
        if (!await store.ExistsAsync(BlobLayout.Datasets, name, cancellationToken))
            throw new InputMissingException($"{what} not found: {BlobLayout.Datasets}/{name} does not exist");
        await store.DownloadFileAsync(BlobLayout.Datasets, name, path, cancellationToken);
        return path;
    }

    private async Task<string> DownloadAsync(string container, string prefix, string what, CancellationToken cancellationToken)
    {
        string folder = Path.Combine(settings.CacheFolder, "inputs", container, prefix.TrimEnd('/'));
        var gate = _folderLocks.GetOrAdd(folder, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await store.DownloadFolderAsync(container, prefix, folder, cancellationToken: cancellationToken) ? folder
                : throw new InputMissingException($"{what} not found: nothing is stored under {container}/{prefix}");
        }
        finally
        {
            gate.Release();
        }
    }

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    /// <summary>Torch work is synchronous and long: a dedicated thread, not the thread pool.</summary>
    private static Task<T> OnOwnThread<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private sealed class StepObserver(Action<TrainingProgress> onStep) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onStep(value);
    }
}
