using System.Globalization;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Orchestration;

/// <summary>A run that ended without publishing; the message is the reason (also in the run summary).</summary>
public sealed class PipelineFailedException(string message) : Exception(message);

/// <summary>
/// The pipeline (DESIGN.md "Data flow"): Clean → Format → one trainer job per candidate, each monitored with durable
/// timers → the best by eval loss → merge (parity gate) → evaluate → Publish, with <c>runs/{run}/summary.json</c>
/// rewritten at every stage. Function-style and deterministic: the clock is the orchestration's, ids derive from the
/// run id, and logging goes through the replay-safe logger. A run that cannot publish fails with the reason.
/// </summary>
public static class PipelineOrchestrator
{
    public const string Name = "PipelineOrchestrator";

    /// <summary>The run's stages in order, as <c>runs/{run}/summary.json</c> names them.</summary>
    public static IReadOnlyList<string> Stages { get; } = Array.AsReadOnly<string>(["clean", "format", "train", "merge", "evaluate", "publish"]);

    /// <summary>The sub-orchestration that runs one trainer job to its end.</summary>
    public const string MonitorName = "TrainerJobMonitor";

    public static async Task<RunResult> RunAsync(TaskOrchestrationContext context, RunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger(Name);
        var runId = input.RunId;
        var run = new RunTracker(runId, input.Source, context.CurrentUtcDateTime);
        var deadline = context.CurrentUtcDateTime + input.Timing.Timeout;
        var storage = StorageRetry(input.Timing);

        async Task Save() =>
            await context.CallActivityAsync<bool>(nameof(PipelineActivities.WriteSummary), new SummaryInput(runId, run.ToJson()), storage);

        async Task Begin(string stage)
        {
            run.Start(stage, context.CurrentUtcDateTime);
            context.SetCustomStatus(stage);
            log.LogInformation("run {RunId}: {Stage} started", runId, stage);
            await Save();
        }

        async Task Done(string stage, string message)
        {
            run.Finish(stage, context.CurrentUtcDateTime, StageState.Succeeded, message);
            log.LogInformation("run {RunId}: {Stage} done: {Message}", runId, stage, message);
            await Save();
        }

        async Task<PipelineFailedException> Fail(string stage, string reason)
        {
            run.Finish(stage, context.CurrentUtcDateTime, StageState.Failed, reason);
            context.SetCustomStatus($"failed: {stage}");
            log.LogError("run {RunId}: {Stage} failed: {Reason}", runId, stage, reason);
            await Save();
            return new PipelineFailedException($"{stage} failed: {reason}");
        }

        try
        {
            // clean
            await Begin("clean");
            var options = await context.CallActivityAsync<RunOptionsResult>(nameof(PipelineActivities.LoadOptions), input.Source, storage);
            if (options.Options is not { } opts)
                throw await Fail("clean", options.Error ?? "invalid run options");
            var cleaned = await context.CallActivityAsync<CleanResult>(nameof(PipelineActivities.Clean), new CleanInput(runId, input.Source), storage);
            if (cleaned.Error is not null)
                throw await Fail("clean", cleaned.Error);
            var report = $"{BlobLayout.Datasets}/{BlobLayout.Dataset.CleaningReport(runId)}";
            if (cleaned.RecordsOut == 0)
            {
                throw await Fail("clean", Invariant(
                    $"no usable records in {input.Source.Container}/{input.Source.Name}: {cleaned.RecordsIn} read, all rejected ({(cleaned.RejectSummary.Length > 0 ? cleaned.RejectSummary : "empty input")}); see {report}"));
            }
            await Done("clean", Invariant($"{cleaned.RecordsOut} of {cleaned.RecordsIn} records kept, {cleaned.RecordsRejected} rejected; {report}"));

            // format
            await Begin("format");
            var formatted = await context.CallActivityAsync<FormatResult>(nameof(PipelineActivities.Format),
                new FormatInput(runId, opts.BaseModelPrefix, opts.Template), storage);
            if (formatted.Error is not null)
                throw await Fail("format", formatted.Error);
            if (formatted.Train == 0)
                throw await Fail("format", Invariant($"no training records after formatting ({formatted.Rejected} rejected); see {BlobLayout.Datasets}/{BlobLayout.Dataset.FormatReport(runId)}"));
            await Done("format", Invariant($"{formatted.Train} train, {formatted.Eval} eval, {formatted.Rejected} rejected"));

            // train: fan out one job per candidate, fan in the best by eval loss
            await Begin("train");
            var datasets = new DatasetPrefixes
            {
                Train = BlobLayout.Dataset.Train(runId),
                Eval = formatted.Eval > 0 ? BlobLayout.Dataset.Eval(runId) : null,
            };
            var jobs = opts.Candidates.Select((h, i) => (Id: RunIds.Candidate(runId, i), Hyperparameters: h)).ToList();
            run.SetCandidates(jobs.Select(j => new CandidateSummary { JobId = j.Id, Hyperparameters = j.Hyperparameters, State = JobState.Queued }));
            await Save();
            var outcomes = await Task.WhenAll(jobs.Select(j => RunJob(context, runId, j.Id, new TrainingJobSpec
            {
                Kind = JobKind.Train,
                BaseModelPrefix = opts.BaseModelPrefix,
                DatasetPrefixes = datasets,
                Hyperparameters = j.Hyperparameters,
                OutputPrefix = BlobLayout.Checkpoint.Prefix(j.Id),
            }, deadline, input.Timing)));
            run.SetCandidates(jobs.Zip(outcomes, (j, o) => new CandidateSummary
            {
                JobId = j.Id,
                Hyperparameters = j.Hyperparameters,
                State = o.State,
                EvalLoss = o.Succeeded ? o.EvalLoss : null,
            }));
            var best = ChooseBest(outcomes);
            if (best is null)
                throw await Fail("train", DescribeAllFailed(outcomes));
            run.SetBest(best.JobId);
            await Done("train", Invariant($"best {best.JobId} (eval loss {best.EvalLoss?.ToString("G6", CultureInfo.InvariantCulture) ?? "n/a"}); {outcomes.Count(o => o.Succeeded)} of {outcomes.Length} candidates succeeded"));

            // merge (the trainer's parity gate refuses a merge whose logits drift)
            await Begin("merge");
            var version = runId;
            var mergedPrefix = BlobLayout.Model.VersionPrefix(opts.ModelName, version);
            var merge = await RunJob(context, runId, RunIds.Merge(runId), new TrainingJobSpec
            {
                Kind = JobKind.Merge,
                BaseModelPrefix = opts.BaseModelPrefix,
                AdapterPrefix = best.OutputPrefix,
                OutputPrefix = mergedPrefix,
                Hyperparameters = new Hyperparameters { Quantize = TrainedOn(best, jobs.Single(j => j.Id == best.JobId).Hyperparameters) },
                Exports = opts.Exports is { Count: > 0 } exports ? exports : null,
            }, deadline, input.Timing);
            if (!merge.Succeeded)
                throw await Fail("merge", DescribeMergeFailure(merge));
            await Done("merge", $"{BlobLayout.Models}/{merge.OutputPrefix ?? mergedPrefix}");

            // evaluate what was merged and will be published (the adapter only lends its loss curve)
            await Begin("evaluate");
            var reportPrefix = BlobLayout.Run.ReportPrefix(runId);
            var publishedPrefix = merge.OutputPrefix ?? mergedPrefix;
            var evaluation = await RunJob(context, runId, RunIds.Evaluate(runId), new TrainingJobSpec
            {
                Kind = JobKind.Evaluate,
                BaseModelPrefix = opts.BaseModelPrefix,
                ModelPrefix = publishedPrefix,
                AdapterPrefix = best.OutputPrefix,
                DatasetPrefixes = new DatasetPrefixes { Eval = BlobLayout.Dataset.Eval(runId) },
                OutputPrefix = reportPrefix,
            }, deadline, input.Timing);
            if (!evaluation.Succeeded)
                throw await Fail("evaluate", $"evaluate job {evaluation.JobId} {Describe(evaluation)}");
            if (merge.ModelSha256 is { } mergedSha256 && evaluation.ModelSha256 != mergedSha256)
                throw await Fail("evaluate", $"evaluate job {evaluation.JobId} evaluated weights {evaluation.ModelSha256 ?? "(no fingerprint)"}, " +
                    $"not the merged {BlobLayout.Models}/{publishedPrefix} ({mergedSha256})");
            await Done("evaluate", $"{BlobLayout.Runs}/{reportPrefix}report.html");

            // publish: the merged version, the adapter (served unmerged over its base), or both
            await Begin("publish");
            var published = new List<string>();
            if (opts.Publish != PublishMode.Adapter)
            {
                published.Add(await context.CallActivityAsync<string>(nameof(PipelineActivities.Publish),
                    new PublishInput(opts.ModelName, version, publishedPrefix, opts.BaseModelPrefix, best.EvalLoss, merge.BaseSha256, merge.ModelSha256), storage));
            }
            string? adapterPrefix = null;
            if (opts.Publish != PublishMode.Merged)
            {
                if (merge.BaseSha256 is not { } baseSha256)
                    throw await Fail("publish", $"merge job {merge.JobId} reported no base fingerprint, which an adapter manifest needs");
                published.Add(await context.CallActivityAsync<string>(nameof(PipelineActivities.PublishAdapter),
                    new PublishAdapterInput(opts.ModelName, version, best.OutputPrefix!, opts.BaseModelPrefix, baseSha256, best.EvalLoss), storage));
                adapterPrefix = BlobLayout.Model.AdapterVersionPrefix(opts.BaseModelPrefix, opts.ModelName, version);
            }
            run.SetVersion(version);
            await Done("publish", $"{string.Join(" and ", published)} → {version}");
            context.SetCustomStatus("succeeded");
            string[] exportNames = [.. (opts.Exports ?? []).Select(e => publishedPrefix + ModelExports.FileName(e))];
            return new RunResult(runId, opts.ModelName, version, publishedPrefix, best.JobId, best.EvalLoss, reportPrefix, adapterPrefix, opts.Publish,
                exportNames);
        }
        catch (TaskFailedException e)
        {
            // An activity failed after its retries (storage, or a bug): the run ends, naming the stage.
            throw await Fail(run.CurrentStage ?? "clean", e.FailureDetails.ErrorMessage);
        }
    }

    /// <summary>
    /// One trainer job to its end: PUT (idempotent), then GET every poll interval (a durable timer) until it ends; past
    /// the run's deadline it is cancelled. Never throws: the outcome says how it ended. Every
    /// <see cref="RunTiming.PollsPerHistory"/> polls it continues as new, so a job polled for a day replays a short
    /// history; the new generation's PUT finds the same job.
    /// </summary>
    public static async Task<JobOutcome> MonitorJobAsync(TaskOrchestrationContext context, MonitorInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger(MonitorName);
        var retry = TrainerRetry(input.Timing);
        JobSnapshot status;
        try
        {
            status = await context.CallActivityAsync<JobSnapshot>(nameof(PipelineActivities.SubmitJob), new SubmitJobInput(input.JobId, input.SpecJson), retry);
        }
        catch (TaskFailedException e)
        {
            return Unreachable(input, e);
        }
        log.LogInformation("job {JobId} submitted: {State}", input.JobId, status.State);
        for (int polls = 0; !status.IsTerminal; polls++)
        {
            if (polls == input.Timing.PollsPerHistory)
            {
                context.ContinueAsNew(input);
                return null!;   // the outcome comes from the last generation
            }
            if (context.CurrentUtcDateTime >= input.Deadline)
            {
                log.LogWarning("job {JobId} passed the run's deadline; cancelling it", input.JobId);
                try
                {
                    await context.CallActivityAsync<bool>(nameof(PipelineActivities.CancelJob), input.JobId);
                }
                catch (TaskFailedException)
                {
                    // best effort: the trainer may be gone; the run ends either way
                }
                return new JobOutcome(input.JobId, JobState.Cancelled, null, null,
                    Invariant($"timed out: not finished by the run's deadline ({input.Deadline:O})"), TimedOut: true);
            }
            var next = context.CurrentUtcDateTime + input.Timing.PollInterval;
            await context.CreateTimer(next < input.Deadline ? next : input.Deadline, CancellationToken.None);
            try
            {
                status = await context.CallActivityAsync<JobSnapshot>(nameof(PipelineActivities.GetJob), input.JobId, retry);
            }
            catch (TaskFailedException e)
            {
                return Unreachable(input, e);
            }
        }
        log.LogInformation("job {JobId} ended: {State}", input.JobId, status.State);
        return new JobOutcome(input.JobId, status.State, status.OutputPrefix, status.Metrics,
            status.State == JobState.Succeeded ? null : status.Error ?? status.State.ToString().ToLowerInvariant(), BaseSha256: status.BaseSha256,
            ModelSha256: status.ModelSha256, ErrorCode: status.ErrorCode);
    }

    private static Task<JobOutcome> RunJob(TaskOrchestrationContext context, string runId, string jobId, TrainingJobSpec spec,
        DateTime deadline, RunTiming timing) =>
        context.CallSubOrchestratorAsync<JobOutcome>(MonitorName,
            new MonitorInput(jobId, spec.ToCanonicalJson(), deadline, timing),
            new SubOrchestrationOptions { InstanceId = $"{runId}:{jobId}" });

    /// <summary>The succeeded candidate with the lowest eval loss (one without any loss only when none has one); ties go to the lower index.</summary>
    /// <summary>
    /// The 4-bit form a candidate trained on (its own <c>quantize</c>, or NF4 where the trainer chose it, as its
    /// <c>fourBitBase</c> metric says): its merge folds the adapter into that base, dequantized, so the published model
    /// is the one that trained and 16 bits can hold the update. Null for LoRA on the base as stored.
    /// </summary>
    internal static BaseQuantization? TrainedOn(JobOutcome best, Hyperparameters candidate) =>
        candidate.Quantize is BaseQuantization.Nf4 or BaseQuantization.Fp4 ? candidate.Quantize
        : best.Metrics?.GetValueOrDefault(JobResult.FourBitBaseMetric) == 1 ? BaseQuantization.Nf4
        : null;

    internal static JobOutcome? ChooseBest(IReadOnlyList<JobOutcome> outcomes)
    {
        var succeeded = outcomes.Where(o => o.Succeeded && o.OutputPrefix is not null).ToList();
        return succeeded.Where(o => o.EvalLoss is not null).OrderBy(o => o.EvalLoss).FirstOrDefault() ?? succeeded.FirstOrDefault();
    }

    private static string DescribeAllFailed(IReadOnlyList<JobOutcome> outcomes)
    {
        var details = string.Join("; ", outcomes.Select(o => $"{o.JobId}: {Describe(o)}"));
        if (outcomes.Count > 0 && outcomes.All(o => o.Unreachable))
            return $"trainer unreachable after retries: {details}";
        if (outcomes.Count > 0 && outcomes.All(o => o.TimedOut))
            return $"timed out: no candidate finished before the run's deadline: {details}";
        return $"all candidates failed: {details}";
    }

    private static string DescribeMergeFailure(JobOutcome merge)
    {
        var error = Describe(merge);
        return merge.ErrorCode == JobErrorCode.ParityGate
            ? $"parity gate refused: {error}"
            : $"merge job {merge.JobId} {error}";
    }

    private static string Describe(JobOutcome outcome) =>
        outcome.Unreachable ? $"trainer unreachable after retries: {outcome.Error}"
        : outcome.TimedOut ? outcome.Error ?? "timed out"
        : $"{outcome.State.ToString().ToLowerInvariant()}: {outcome.Error}";

    private static JobOutcome Unreachable(MonitorInput input, TaskFailedException e)
    {
        var rejected = e.FailureDetails.IsCausedBy<TrainerRejectedException>();
        return new JobOutcome(input.JobId, JobState.Failed, null, null,
            rejected ? e.FailureDetails.ErrorMessage : Invariant($"{input.Timing.TrainerAttempts} attempts: {e.FailureDetails.ErrorMessage}"),
            Unreachable: !rejected);
    }

    /// <summary>Trainer calls: retried with exponential backoff, except when the trainer refused for good.</summary>
    private static TaskOptions TrainerRetry(RunTiming timing) =>
        TaskOptions.FromRetryPolicy(new RetryPolicy(timing.TrainerAttempts, timing.RetryFirstInterval, 2, timing.RetryMaxInterval)
        {
            HandleFailure = failure => !failure.IsCausedBy<TrainerRejectedException>(),
        });

    /// <summary>Storage activities: a few retries for transient storage errors.</summary>
    private static TaskOptions StorageRetry(RunTiming timing) =>
        TaskOptions.FromRetryPolicy(new RetryPolicy(3, timing.RetryFirstInterval, 2, timing.RetryMaxInterval));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
