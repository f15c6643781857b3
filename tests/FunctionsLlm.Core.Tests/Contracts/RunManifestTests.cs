using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class RunManifestTests
{
    private const string Document = """
        {
          "runId": "r7c1e",
          "source": { "container": "training-data", "name": "faq-zh.json", "etag": "\"0x8DC4A1B2C3D4E5F\"" },
          "createdAt": "2025-03-01T08:00:00Z",
          "stages": {
            "clean": { "state": "succeeded", "startedAt": "2025-03-01T08:00:01Z", "finishedAt": "2025-03-01T08:00:09Z", "message": "980 kept, 20 rejected" },
            "train": { "state": "running", "startedAt": "2025-03-01T08:01:00Z" },
            "publish": { "state": "pending" }
          },
          "candidates": [
            { "jobId": "r7c1e-c0", "hyperparameters": { "lr": 2e-4 }, "evalLoss": 1.32, "state": "succeeded" },
            { "jobId": "r7c1e-c1", "hyperparameters": { "lr": 1e-4, "loraR": 32 }, "state": "failed" }
          ],
          "bestCandidate": "r7c1e-c0",
          "modelVersion": "r7c1e",
          "schema": "extra fields are ignored"
        }
        """;

    [Fact]
    public void Reads_every_field()
    {
        var run = RunManifest.Parse(Document);

        Assert.Equal("r7c1e", run.RunId);
        Assert.Equal(new RunSource { Container = "training-data", Name = "faq-zh.json", ETag = "\"0x8DC4A1B2C3D4E5F\"" }, run.Source);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero), run.CreatedAt);
        Assert.Equal(["clean", "train", "publish"], run.Stages.Keys);
        Assert.Equal(new StageStatus
        {
            State = StageState.Succeeded,
            StartedAt = new DateTimeOffset(2025, 3, 1, 8, 0, 1, TimeSpan.Zero),
            FinishedAt = new DateTimeOffset(2025, 3, 1, 8, 0, 9, TimeSpan.Zero),
            Message = "980 kept, 20 rejected",
        }, run.Stages["clean"]);
        Assert.Equal(new StageStatus { State = StageState.Pending }, run.Stages["publish"]);
        Assert.Equal(2, run.Candidates.Count);
        Assert.Equal(new CandidateSummary
        {
            JobId = "r7c1e-c1", Hyperparameters = new Hyperparameters { LearningRate = 1e-4, LoraR = 32 }, State = JobState.Failed,
        }, run.Candidates[1]);
        Assert.Equal(1.32, run.Candidates[0].EvalLoss);
        Assert.Equal("r7c1e-c0", run.BestCandidate);
        Assert.Equal("r7c1e", run.ModelVersion);
    }

    [Fact]
    public void Writes_the_contract_names_and_reads_back_equal()
    {
        var run = RunManifest.Parse(Document);

        var json = JsonSerializer.Serialize(run, JsonDefaults.Indented);

        Assert.Equal(["runId", "source", "createdAt", "stages", "candidates", "bestCandidate", "modelVersion"], JsonNames.Of(json));
        Assert.Equal(["container", "name", "etag"], JsonNames.Of(json, "source"));
        Assert.Equal(["state", "startedAt", "finishedAt", "message"], JsonNames.Of(json, "stages", "clean"));
        Assert.Contains("\"state\": \"pending\"", json, StringComparison.Ordinal);
        Assert.Equal(run, RunManifest.Parse(json));
    }

    [Fact]
    public void Manifests_compare_by_content_whatever_the_stage_order_and_time_offsets()
    {
        var reordered = RunManifest.Parse(Document) with
        {
            CreatedAt = new DateTimeOffset(2025, 3, 1, 16, 0, 0, TimeSpan.FromHours(8)), // the same instant
            Stages = RunManifest.Parse(Document).Stages.Reverse().ToDictionary(),
        };

        Assert.Equal(RunManifest.Parse(Document), reordered);
        Assert.Equal(RunManifest.Parse(Document).GetHashCode(), reordered.GetHashCode());
        Assert.NotEqual(RunManifest.Parse(Document), reordered with { ModelVersion = null });
    }

    [Fact]
    public void A_minimal_run_has_no_stages_or_candidates_yet()
    {
        var run = RunManifest.Parse("""
            {"runId": "r1", "source": {"container": "training-data", "name": "a.json", "etag": "e1"}, "createdAt": "2025-03-01T08:00:00Z"}
            """);

        Assert.Empty(run.Stages);
        Assert.Empty(run.Candidates);
        Assert.Null(run.BestCandidate);
    }

    [Fact]
    public void Inconsistent_summaries_are_named()
    {
        var e = Assert.Throws<ContractException>(() => RunManifest.Parse("""
            {
              "runId": "r1", "source": {"container": "training-data", "name": "a.json"}, "createdAt": "2025-03-01T08:00:00Z",
              "stages": {"clean": {"state": "succeeded", "startedAt": "2025-03-01T08:00:09Z", "finishedAt": "2025-03-01T08:00:01Z"}},
              "candidates": [{"jobId": "r1-c0", "state": "succeeded"}, {"jobId": "r1-c0", "state": "done"}],
              "bestCandidate": "r1-c9"
            }
            """));

        Assert.Equal(["$.candidates[1].state: 'done' is not one of queued, running, succeeded, failed, cancelled"], e.Problems);

        e = Assert.Throws<ContractException>(() => RunManifest.Parse("""
            {
              "runId": "r1", "source": {"container": "training-data", "name": "a.json"}, "createdAt": "2025-03-01T08:00:00Z",
              "stages": {"clean": {"state": "succeeded", "startedAt": "2025-03-01T08:00:09Z", "finishedAt": "2025-03-01T08:00:01Z"}},
              "candidates": [{"jobId": "r1-c0", "state": "succeeded"}, {"jobId": "r1-c0", "state": "failed"}],
              "bestCandidate": "r1-c9"
            }
            """));

        Assert.Equal(
        [
            "'source.etag' is missing",
            "'stages.clean.finishedAt' must not be before 'stages.clean.startedAt'",
            "'candidates' lists job 'r1-c0' more than once",
            "'bestCandidate' 'r1-c9' is not one of the candidates' job ids",
        ], e.Problems);
    }
}
