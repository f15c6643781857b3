using System.Collections.ObjectModel;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Orchestration;

/// <summary>
/// The run's <see cref="RunManifest"/> as the orchestrator builds it. It only uses the orchestration's clock, so the
/// same history always rebuilds the same summary (replay-safe).
/// </summary>
internal sealed class RunTracker(string runId, RunSource source, DateTimeOffset createdAt)
{
    private readonly Dictionary<string, StageStatus> _stages =
        PipelineOrchestrator.Stages.ToDictionary(s => s, _ => new StageStatus { State = StageState.Pending }, StringComparer.Ordinal);

    private List<CandidateSummary> _candidates = [];
    private string? _best;
    private string? _version;

    public string? CurrentStage { get; private set; }

    public void Start(string stage, DateTime now)
    {
        CurrentStage = stage;
        _stages[stage] = new StageStatus { State = StageState.Running, StartedAt = Utc(now) };
    }

    public void Finish(string stage, DateTime now, StageState state, string? message)
    {
        _stages[stage] = _stages[stage] with { State = state, FinishedAt = Utc(now), Message = message };
        if (state == StageState.Failed)
        {
            foreach (var name in PipelineOrchestrator.Stages.Where(n => _stages[n].State == StageState.Pending))
                _stages[name] = new StageStatus { State = StageState.Skipped };
        }
    }

    public void SetCandidates(IEnumerable<CandidateSummary> candidates) => _candidates = [.. candidates];

    public void SetBest(string jobId) => _best = jobId;

    public void SetVersion(string version) => _version = version;

    public string ToJson() => JsonSerializer.Serialize(new RunManifest
    {
        RunId = runId,
        Source = source,
        CreatedAt = createdAt,
        Stages = new ReadOnlyDictionary<string, StageStatus>(new Dictionary<string, StageStatus>(_stages, StringComparer.Ordinal)),
        Candidates = _candidates,
        BestCandidate = _best,
        ModelVersion = _version,
    }, JsonDefaults.Indented);

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
