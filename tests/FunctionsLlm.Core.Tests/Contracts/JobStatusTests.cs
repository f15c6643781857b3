using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class JobStatusTests
{
    // DESIGN.md "Contracts": GET /jobs/{id} → {state, progress: {step, totalSteps, loss, evalLoss, tokensPerSecond, etaSeconds}, result, error}
    private const string Running = """
        {
          "id": "r1-c0",
          "kind": "train",
          "state": "running",
          "progress": { "step": 120, "totalSteps": 900, "loss": 1.75, "evalLoss": 1.9, "tokensPerSecond": 5400.5, "etaSeconds": 610 },
          "createdAt": "2025-03-01T08:00:00Z",
          "updatedAt": "2025-03-01T08:05:30Z",
          "gpu": "ignored"
        }
        """;

    private const string Succeeded = """
        {
          "id": "r1-merge", "kind": "merge", "state": "succeeded",
          "result": { "outputPrefix": "support-bot/r1/", "metrics": { "maxAbsLogitDiff": 0.0003, "tensors": 290 } },
          "createdAt": "2025-03-01T09:00:00Z", "updatedAt": "2025-03-01T09:02:00Z"
        }
        """;

    [Fact]
    public void Reads_a_running_job_with_its_progress()
    {
        var status = JobStatus.Parse(Running);

        Assert.Equal("r1-c0", status.Id);
        Assert.Equal(JobKind.Train, status.Kind);
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(new JobProgress { Step = 120, TotalSteps = 900, Loss = 1.75, EvalLoss = 1.9, TokensPerSecond = 5400.5, EtaSeconds = 610 },
            status.Progress);
        Assert.Null(status.Result);
        Assert.Null(status.Error);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero), status.CreatedAt);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 8, 5, 30, TimeSpan.Zero), status.UpdatedAt);
        Assert.False(status.IsTerminal);
    }

    [Fact]
    public void Reads_a_succeeded_job_with_its_result()
    {
        var status = JobStatus.Parse(Succeeded);

        Assert.True(status.IsTerminal);
        Assert.Equal("support-bot/r1/", status.Result!.OutputPrefix);
        Assert.Equal(new Dictionary<string, double> { ["maxAbsLogitDiff"] = 0.0003, ["tensors"] = 290 }, status.Result.Metrics);
    }

    [Fact]
    public void Writes_the_design_field_names_and_reads_back_equal()
    {
        var running = JobStatus.Parse(Running);
        var json = JsonSerializer.Serialize(running, JsonDefaults.Indented);

        Assert.Equal(["id", "kind", "state", "progress", "createdAt", "updatedAt"], JsonNames.Of(json));
        Assert.Equal(["step", "totalSteps", "loss", "evalLoss", "tokensPerSecond", "etaSeconds"], JsonNames.Of(json, "progress"));
        Assert.Contains("\"state\": \"running\"", json, StringComparison.Ordinal);
        Assert.Equal(running, JobStatus.Parse(json));

        var succeeded = JobStatus.Parse(Succeeded);
        var resultJson = JsonSerializer.Serialize(succeeded, JsonDefaults.Indented);
        Assert.Equal(["outputPrefix", "metrics"], JsonNames.Of(resultJson, "result"));
        Assert.Equal(["maxAbsLogitDiff", "tensors"], JsonNames.Of(resultJson, "result", "metrics"));
        Assert.Equal(succeeded, JobStatus.Parse(resultJson));
    }

    [Fact]
    public void A_failed_job_carries_its_error()
    {
        var status = JobStatus.Parse("""
            {"id": "r1-c1", "kind": "train", "state": "failed", "error": "CUDA out of memory",
             "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T08:01:00Z"}
            """);

        Assert.Equal("CUDA out of memory", status.Error);
        Assert.Null(status.ErrorCode);   // a trainer that predates the field
        Assert.True(status.IsTerminal);
    }

    [Fact]
    public void A_failed_job_may_carry_an_error_code_by_its_snake_case_name()
    {
        var status = JobStatus.Parse("""
            {"id": "r1-merge", "kind": "merge", "state": "failed", "error": "merge refused: …", "errorCode": "parity_gate",
             "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T08:01:00Z"}
            """);

        Assert.Equal(JobErrorCode.ParityGate, status.ErrorCode);
        Assert.Contains("\"errorCode\":\"parity_gate\"", JsonSerializer.Serialize(status, JsonDefaults.Compact), StringComparison.Ordinal);
        Assert.Throws<ContractException>(() => JobStatus.Parse("""
            {"id": "r1-merge", "kind": "merge", "state": "failed", "error": "x", "errorCode": "gremlins",
             "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T08:01:00Z"}
            """));
    }

    [Theory]
    [InlineData(JobState.Queued, "queued", false)]
    [InlineData(JobState.Running, "running", false)]
    [InlineData(JobState.Succeeded, "succeeded", true)]
    [InlineData(JobState.Failed, "failed", true)]
    [InlineData(JobState.Cancelled, "cancelled", true)]
    public void States_have_their_design_names_and_the_last_three_are_terminal(JobState state, string name, bool terminal)
    {
        Assert.Equal($"\"{name}\"", JsonSerializer.Serialize(state));
        Assert.Equal(terminal, state.IsTerminal());
    }

    [Fact]
    public void Kinds_have_their_design_names_whatever_the_serializer_options()
    {
        Assert.Equal("[\"train\",\"merge\",\"evaluate\"]", JsonSerializer.Serialize(new[] { JobKind.Train, JobKind.Merge, JobKind.Evaluate }));
    }

    [Fact]
    public void A_succeeded_job_needs_a_result_and_a_failed_one_an_error()
    {
        var e = Assert.Throws<ContractException>(() => JobStatus.Parse("""
            {"id": "j", "kind": "train", "state": "succeeded", "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T08:00:00Z"}
            """));
        Assert.Equal(["'result' is required when the state is succeeded"], e.Problems);

        e = Assert.Throws<ContractException>(() => JobStatus.Parse("""
            {"id": "j", "kind": "train", "state": "failed", "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T08:00:00Z"}
            """));
        Assert.Equal(["'error' is required when the state is failed"], e.Problems);
    }

    [Fact]
    public void A_merge_result_names_its_base_by_fingerprint_and_a_malformed_one_is_refused()
    {
        var sha = new string('0', 63) + "f";
        var status = JobStatus.Parse(Succeeded.Replace("\"metrics\"", $"\"baseSha256\": \"{sha}\", \"metrics\"", StringComparison.Ordinal));
        Assert.Equal(sha, status.Result!.BaseSha256);
        Assert.Equal(status, JobStatus.Parse(JsonSerializer.Serialize(status, JsonDefaults.Compact)));

        var e = Assert.Throws<ContractException>(() => JobStatus.Parse(Succeeded.Replace("\"metrics\"", "\"baseSha256\": \"ABC\", \"metrics\"", StringComparison.Ordinal)));
        Assert.Equal(["'result.baseSha256' must be 64 lowercase hex digits (got 'ABC')"], e.Problems);
    }

    [Fact]
    public void Impossible_progress_and_times_are_named()
    {
        var e = Assert.Throws<ContractException>(() => JobStatus.Parse("""
            {"kind": "train", "state": "running", "progress": {"step": 901, "totalSteps": 900, "etaSeconds": -5},
             "createdAt": "2025-03-01T08:00:00Z", "updatedAt": "2025-03-01T07:00:00Z"}
            """));

        Assert.Equal(
        [
            "'id' is missing",
            "'progress.totalSteps' must be at least 'progress.step' (got 900 < 901)",
            "'progress.etaSeconds' must be a finite number ≥ 0 (got -5)",
            "'updatedAt' must not be before 'createdAt'",
        ], e.Problems);
    }

    [Fact]
    public void Results_with_the_same_metrics_in_another_order_are_equal()
    {
        var a = new JobResult { OutputPrefix = "o/", Metrics = new Dictionary<string, double> { ["evalLoss"] = 1.5, ["steps"] = 900 } };
        var b = new JobResult { OutputPrefix = "o/", Metrics = new Dictionary<string, double> { ["steps"] = 900, ["evalLoss"] = 1.5 } };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Metrics = new Dictionary<string, double> { ["steps"] = 900, ["evalLoss"] = 1.6 } });
    }
}
