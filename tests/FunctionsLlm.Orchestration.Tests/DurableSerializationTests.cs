using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Orchestration.Tests;

/// <summary>
/// Orchestration inputs and outputs cross the Durable Task history as JSON. The test host and the Functions worker use
/// different serializer settings, so every payload must survive both: the defaults, and web-style camelCase.
/// </summary>
public sealed class DurableSerializationTests
{
    public static TheoryData<string> Settings => ["default", "web"];

    private static JsonSerializerOptions Options(string name) =>
        name == "web" ? new JsonSerializerOptions(JsonSerializerDefaults.Web) : new JsonSerializerOptions();

    private static T RoundTrip<T>(T value, string options) =>
        JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(value, Options(options)), Options(options))!;

    [Theory]
    [MemberData(nameof(Settings))]
    public void Payloads_survive_the_history(string options)
    {
        var timing = new RunTiming { PollInterval = TimeSpan.FromSeconds(7), Timeout = TimeSpan.FromHours(3), TrainerAttempts = 2 };
        var source = new RunSource { Container = "training-data", Name = "faq.jsonl", ETag = "\"0x8DC\"" };
        Assert.Equal(new RunInput("run-1", source, timing), RoundTrip(new RunInput("run-1", source, timing), options));

        var candidates = new[] { new Hyperparameters { LearningRate = 1e-4, LoraR = 8, TargetModules = ["all-linear"], Scheduler = SchedulerKind.Linear } };
        var read = RoundTrip(new RunOptionsResult(new RunOptions("base/", "chat", "bot", candidates), null), options);
        Assert.Equal(candidates[0], Assert.Single(read.Options!.Candidates));

        var deadline = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var monitor = RoundTrip(new MonitorInput("run-1-c0", "{}", deadline, timing), options);
        Assert.Equal(deadline, monitor.Deadline);
        Assert.Equal(DateTimeKind.Utc, monitor.Deadline.Kind);

        var outcome = RoundTrip(new JobOutcome("run-1-c0", JobState.Succeeded, "run-1-c0/", new Dictionary<string, double> { ["bestEvalLoss"] = 0.5 }, null), options);
        Assert.Equal(JobState.Succeeded, outcome.State);
        Assert.Equal(0.5, outcome.EvalLoss);

        var snapshot = RoundTrip(new JobSnapshot("j", JobState.Running, null, null, null), options);
        Assert.False(snapshot.IsTerminal);
    }

    [Fact]
    public void The_best_candidate_is_the_lowest_eval_loss_among_the_succeeded_ones()
    {
        static JobOutcome Ok(string id, double? loss) => new(id, JobState.Succeeded, id + "/", loss is null ? null : new Dictionary<string, double> { ["evalLoss"] = loss.Value }, null);
        var failed = new JobOutcome("f", JobState.Failed, null, null, "boom");

        Assert.Equal("b", PipelineOrchestrator.ChooseBest([Ok("a", 1.2), Ok("b", 0.7), failed, Ok("c", 0.9)])!.JobId);
        Assert.Equal("a", PipelineOrchestrator.ChooseBest([Ok("a", 0.7), Ok("b", 0.7)])!.JobId);
        Assert.Equal("b", PipelineOrchestrator.ChooseBest([Ok("a", null), Ok("b", 3.0)])!.JobId);
        Assert.Equal("a", PipelineOrchestrator.ChooseBest([Ok("a", null), failed])!.JobId);
        Assert.Null(PipelineOrchestrator.ChooseBest([failed]));
    }

    [Fact]
    public void A_qlora_candidate_is_merged_into_the_base_quantized_as_it_trained()
    {
        var dense = new JobOutcome("c0", JobState.Succeeded, "c0/", new Dictionary<string, double> { ["evalLoss"] = 1 }, null);
        var fourBit = dense with { Metrics = new Dictionary<string, double> { ["evalLoss"] = 1, [JobResult.FourBitBaseMetric] = 1 } };

        Assert.Null(PipelineOrchestrator.TrainedOn(dense, new Hyperparameters()));
        Assert.Null(PipelineOrchestrator.TrainedOn(dense, new Hyperparameters { Quantize = BaseQuantization.None }));
        // the trainer chose NF4 (FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS), or the candidate asked for a type
        Assert.Equal(BaseQuantization.Nf4, PipelineOrchestrator.TrainedOn(fourBit, new Hyperparameters()));
        Assert.Equal(BaseQuantization.Fp4, PipelineOrchestrator.TrainedOn(fourBit, new Hyperparameters { Quantize = BaseQuantization.Fp4 }));
    }
}
