using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Orchestration;

/// <summary>How the orchestrator paces itself: carried in the run's input so replays see the same values.</summary>
public sealed record RunTiming
{
    /// <summary>Time between two <c>GET /jobs/{id}</c> polls of a running trainer job (a durable timer).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The whole run's deadline, from its start: jobs still unfinished then are cancelled and count as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Attempts of one trainer call (the first included) before the trainer counts as unreachable.</summary>
    public int TrainerAttempts { get; init; } = 6;

    /// <summary>The first retry's delay; each further one doubles, up to <see cref="RetryMaxInterval"/>.</summary>
    public TimeSpan RetryFirstInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RetryMaxInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Polls of one job before its monitor continues as new (its history restarts; 100 polls ≈ 400 history events).</summary>
    public int PollsPerHistory { get; init; } = 100;
}

/// <summary>The orchestrator's input: the run id (also the instance id), the upload, and the pacing.</summary>
public sealed record RunInput(string RunId, RunSource Source, RunTiming Timing);

/// <summary>
/// What a run publishes: <c>merged</c> (a merged model version at <c>models/{model}/{version}/</c>, the default),
/// <c>adapter</c> (the best adapter at <c>models/{base}adapters/{model}/{version}/</c>, served unmerged over its base by
/// any inference app serving that base), or <c>both</c>. The merge and evaluation run either way: the parity gate and the
/// report are what vouch for the adapter too.
/// </summary>
public enum PublishMode
{
    Merged,
    Adapter,
    Both,
}

/// <summary>The names of <see cref="PublishMode"/> in sidecars and settings.</summary>
public static class PublishModes
{
    public static bool TryParse(string text, out PublishMode mode)
    {
        (bool known, mode) = text switch
        {
            "merged" => (true, PublishMode.Merged),
            "adapter" => (true, PublishMode.Adapter),
            "both" => (true, PublishMode.Both),
            _ => (false, PublishMode.Merged),
        };
        return known;
    }
}

/// <summary>What a run uses when its upload has no sidecar: the app's settings (or <c>flm pipeline</c>'s), one candidate with the seed's hyperparameters.</summary>
/// <param name="Exports">Files to publish beside the merged model (<see cref="ModelExports"/>), e.g. <c>gguf-q8_0</c>.</param>
public sealed record RunDefaults(string BaseModelPrefix, string ModelName, string Template = "chat", PublishMode Publish = PublishMode.Merged,
    IReadOnlyList<string>? Exports = null)
{
    public RunOptions ToOptions() => new(BaseModelPrefix, Template, ModelName, [new Hyperparameters()], Publish, Exports ?? []);
}

/// <summary>What a run uses, from the upload's sidecar <c>{name}.pipeline.json</c> or the app's defaults.</summary>
/// <param name="Exports">Files the merge job publishes beside the merged model (<see cref="ModelExports"/>).</param>
public sealed record RunOptions(string BaseModelPrefix, string Template, string ModelName, IReadOnlyList<Hyperparameters> Candidates,
    PublishMode Publish = PublishMode.Merged, IReadOnlyList<string>? Exports = null);

/// <summary><see cref="RunOptions"/>, or why the sidecar cannot be used.</summary>
public sealed record RunOptionsResult(RunOptions? Options, string? Error);

public sealed record CleanInput(string RunId, RunSource Source);

/// <summary>The cleaning report's counts; <see cref="Error"/> when the upload as a whole is unreadable.</summary>
public sealed record CleanResult(long RecordsIn, long RecordsOut, long RecordsRejected, string RejectSummary, string? Error);

public sealed record FormatInput(string RunId, string BaseModelPrefix, string Template);

public sealed record FormatResult(long Train, long Eval, long Rejected, string? Error);

/// <summary>A trainer job to submit: its id and spec (as canonical JSON, so the PUT body is byte-for-byte the same on every retry).</summary>
public sealed record SubmitJobInput(string JobId, string SpecJson);

/// <summary>The part of a trainer <see cref="JobStatus"/> the orchestrator keeps.</summary>
public sealed record JobSnapshot(string Id, JobState State, string? OutputPrefix, IReadOnlyDictionary<string, double>? Metrics, string? Error,
    string? BaseSha256 = null, string? ModelSha256 = null, JobErrorCode? ErrorCode = null)
{
    public bool IsTerminal => State.IsTerminal();

    public static JobSnapshot From(JobStatus status) =>
        new(status.Id, status.State, status.Result?.OutputPrefix, status.Result?.Metrics, status.Error, status.Result?.BaseSha256,
            status.Result?.ModelSha256, status.ErrorCode);
}

/// <summary>One trainer job to run to its end: submit, then poll with durable timers until it ends or the deadline passes.</summary>
public sealed record MonitorInput(string JobId, string SpecJson, DateTime Deadline, RunTiming Timing);

/// <summary>How a monitored job ended. <see cref="Unreachable"/>: the trainer did not answer after every retry.</summary>
public sealed record JobOutcome(string JobId, JobState State, string? OutputPrefix, IReadOnlyDictionary<string, double>? Metrics,
    string? Error, bool Unreachable = false, bool TimedOut = false, string? BaseSha256 = null, string? ModelSha256 = null,
    JobErrorCode? ErrorCode = null)
{
    public bool Succeeded => State == JobState.Succeeded;

    /// <summary>The job's eval loss: <c>bestEvalLoss</c>, else <c>evalLoss</c>; null when it reported neither.</summary>
    public double? EvalLoss =>
        Metrics is null ? null
        : Metrics.TryGetValue("bestEvalLoss", out var best) ? best
        : Metrics.TryGetValue("evalLoss", out var last) ? last
        : null;
}

public sealed record PublishInput(string ModelName, string Version, string MergedPrefix, string BaseModelPrefix, double? EvalLoss,
    string? BaseSha256 = null, string? MergedSha256 = null);

/// <summary>The best candidate's adapter (<c>checkpoints/{CheckpointPrefix}</c>) to publish for the base at <c>models/{BaseModelPrefix}</c>.</summary>
public sealed record PublishAdapterInput(string AdapterName, string Version, string CheckpointPrefix, string BaseModelPrefix, string BaseSha256,
    double? EvalLoss);

public sealed record SummaryInput(string RunId, string Json);

/// <summary>
/// A run that succeeded: what it published (<see cref="Published"/>): the merged folder at <see cref="MergedPrefix"/>
/// (written either way), the adapter at <see cref="AdapterPrefix"/> when it published the adapter.
/// </summary>
/// <param name="ExportNames">The files published beside the merged model, as names in the models container.</param>
public sealed record RunResult(string RunId, string ModelName, string ModelVersion, string MergedPrefix, string BestCandidate,
    double? EvalLoss, string ReportPrefix, string? AdapterPrefix = null, PublishMode Published = PublishMode.Merged,
    IReadOnlyList<string>? ExportNames = null);
