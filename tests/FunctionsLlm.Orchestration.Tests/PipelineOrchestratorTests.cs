using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using Microsoft.DurableTask.Client;

namespace FunctionsLlm.Orchestration.Tests;

public sealed class PipelineOrchestratorTests
{
    private static string Samples => Path.Combine(RepoPaths.Samples, "customer-service.jsonl");

    [Fact]
    public async Task Sweep_fans_out_one_job_per_candidate_and_publishes_the_lowest_eval_loss()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (id, spec) => spec.Kind == JobKind.Train
            ? new JobScript(JobState.Succeeded, Polls: 2, EvalLoss: id.EndsWith("-c1", StringComparison.Ordinal) ? 0.9 : id.EndsWith("-c0", StringComparison.Ordinal) ? 1.5 : 1.2)
            : new JobScript();
        await h.UploadAsync("faq.jsonl", Samples, """{"sweep": {"lr": [0.0001, 0.0002, 0.0003]}}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.True(start.Started);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RunResult>()!;
        var runId = start.RunId;
        Assert.Equal(RunIds.Candidate(runId, 1), result.BestCandidate);
        Assert.Equal(0.9, result.EvalLoss);

        // one train job per candidate, with the sweep's learning rates, on the formatted datasets
        var trainJobs = Enumerable.Range(0, 3).Select(i => h.Trainer.SpecOf(RunIds.Candidate(runId, i))!).ToList();
        Assert.Equal([1e-4, 2e-4, 3e-4], trainJobs.Select(s => s.Hyperparameters.LearningRate));
        Assert.All(trainJobs, s => Assert.Equal(BlobLayout.Dataset.Train(runId), s.DatasetPrefixes!.Train));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.Datasets, BlobLayout.Dataset.Train(runId)));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.Datasets, BlobLayout.Dataset.Eval(runId)));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.Datasets, BlobLayout.Dataset.CleaningReport(runId)));

        // merge takes the best candidate's adapter; evaluate takes the folder the merge published (the adapter only
        // for its loss curve)
        var merge = h.Trainer.SpecOf(RunIds.Merge(runId))!;
        Assert.Equal(BlobLayout.Checkpoint.Prefix(RunIds.Candidate(runId, 1)), merge.AdapterPrefix);
        Assert.Null(merge.Hyperparameters.Quantize);   // LoRA on the base as stored merges into it
        var evaluate = h.Trainer.SpecOf(RunIds.Evaluate(runId))!;
        Assert.Equal(merge.OutputPrefix, evaluate.ModelPrefix);
        Assert.Equal(BlobLayout.Checkpoint.Prefix(RunIds.Candidate(runId, 1)), evaluate.AdapterPrefix);

        // published: current.json names the merged folder
        var manifest = ModelManifest.Parse(await h.Store.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.Current(PipelineHarness.ModelName)));
        Assert.Equal(runId, manifest.Version);
        Assert.Equal(BlobLayout.Model.VersionPrefix(PipelineHarness.ModelName, runId), manifest.MergedPrefix);
        Assert.Equal(0.9, manifest.EvalLoss);
        Assert.Equal(FakeTrainer.BaseSha256, manifest.BaseSha256);
        Assert.Equal(FakeTrainer.MergedSha256, manifest.MergedSha256);

        var summary = await h.SummaryAsync(runId);
        Assert.All(PipelineOrchestrator.Stages, s => Assert.Equal(StageState.Succeeded, summary.Stages[s].State));
        Assert.Equal(3, summary.Candidates.Count);
        Assert.Equal(RunIds.Candidate(runId, 1), summary.BestCandidate);
        Assert.Equal(runId, summary.ModelVersion);
    }

    [Theory]
    [InlineData("adapter", false, true)]
    [InlineData("both", true, true)]
    [InlineData("merged", true, false)]
    public async Task Publish_writes_the_merged_version_the_adapter_for_its_base_or_both(string publish, bool merged, bool adapter)
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (id, spec) => spec.Kind == JobKind.Train
            ? new JobScript(JobState.Succeeded, EvalLoss: id.EndsWith("-c1", StringComparison.Ordinal) ? 0.9 : 1.5)
            : new JobScript();
        await h.UploadAsync("faq.jsonl", Samples, $$$"""{"publish": "{{{publish}}}", "sweep": {"lr": [0.0001, 0.0002]}}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        string runId = start.RunId, best = BlobLayout.Checkpoint.Prefix(RunIds.Candidate(runId, 1));
        Assert.Equal(merged, await h.Store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(PipelineHarness.ModelName)));
        var result = done.ReadOutputAs<RunResult>()!;
        Assert.Equal(adapter, await h.Store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent("base/", PipelineHarness.ModelName)));
        if (!adapter)
        {
            Assert.Null(result.AdapterPrefix);
            return;
        }
        var manifest = AdapterManifest.Parse(await h.Store.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent("base/", PipelineHarness.ModelName)));
        Assert.Equal((runId, $"base/adapters/{PipelineHarness.ModelName}/{runId}/", "base/", FakeTrainer.BaseSha256, 0.9),
            (manifest.Version, manifest.AdapterPrefix, manifest.BaseModel, manifest.BaseSha256, manifest.EvalLoss));
        Assert.Equal(manifest.AdapterPrefix, result.AdapterPrefix);
        // The best candidate's adapter files, byte for byte, and nothing else of its checkpoint folder.
        var copied = await h.Store.ListFolderAsync(BlobLayout.Models, manifest.AdapterPrefix);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], copied.Select(c => c.Name[manifest.AdapterPrefix.Length..]).Order(StringComparer.Ordinal));
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors" })
            Assert.Equal(await h.Store.ReadTextAsync(BlobLayout.Checkpoints, best + file), await h.Store.ReadTextAsync(BlobLayout.Models, manifest.AdapterPrefix + file));
        Assert.Contains("base/adapters/", (await h.SummaryAsync(runId)).Stages["publish"].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"publish": "lora"}""", "'publish' must be merged, adapter or both (got 'lora')")]
    [InlineData("""{"publish": "adapter", "hyperparameters": {"full": true}}""", "candidate 0: 'publish' adapter needs a LoRA adapter")]
    public async Task A_publish_setting_that_cannot_be_honoured_fails_the_run_before_any_training(string options, string reason)
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples, options);

        var done = await h.WaitAsync((await h.TriggerAsync("faq.jsonl")).RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains(reason, done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(h.Trainer.Calls);
    }

    [Fact]
    public async Task The_sidecars_export_goes_to_the_merge_job_and_names_the_published_files()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples, """{"export": ["gguf-q8_0", "gguf-f16"]}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(["gguf-q8_0", "gguf-f16"], h.Trainer.SpecOf(RunIds.Merge(start.RunId))!.Exports);
        Assert.Null(h.Trainer.SpecOf(RunIds.Candidate(start.RunId, 0))!.Exports);
        var result = done.ReadOutputAs<RunResult>()!;
        Assert.Equal([result.MergedPrefix + "model-q8_0.gguf", result.MergedPrefix + "model-f16.gguf"], result.ExportNames);
    }

    [Fact]
    public async Task An_unknown_export_fails_the_run_before_any_training()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples, """{"export": ["gguf-q4_k_m"]}""");

        var done = await h.WaitAsync((await h.TriggerAsync("faq.jsonl")).RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("'export' has an unknown export 'gguf-q4_k_m'; known: gguf-f32, gguf-f16, gguf-bf16, gguf-q8_0", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(h.Trainer.Calls);
    }

    [Fact]
    public async Task A_qlora_candidate_is_merged_into_its_base_quantized_as_it_trained()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples, """{"hyperparameters": {"quantize": "nf4"}}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(BaseQuantization.Nf4, h.Trainer.SpecOf(RunIds.Candidate(start.RunId, 0))!.Hyperparameters.Quantize);
        Assert.Equal(BaseQuantization.Nf4, h.Trainer.SpecOf(RunIds.Merge(start.RunId))!.Hyperparameters.Quantize);
    }

    [Fact]
    public async Task A_run_whose_evaluation_did_not_evaluate_the_merged_weights_is_not_published()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (_, spec) => spec.Kind == JobKind.Evaluate ? new JobScript(ModelSha256: new string('d', 64)) : new JobScript();
        await h.UploadAsync("faq.jsonl", Samples);

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains($"not the merged {BlobLayout.Models}/{BlobLayout.Model.VersionPrefix(PipelineHarness.ModelName, start.RunId)}",
            done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(StageState.Failed, (await h.SummaryAsync(start.RunId)).Stages["evaluate"].State);
        Assert.False(await h.Store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(PipelineHarness.ModelName)));
    }

    [Fact]
    public async Task A_failed_candidate_does_not_fail_the_run_while_another_succeeds()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (id, spec) => id.EndsWith("-c0", StringComparison.Ordinal)
            ? new JobScript(JobState.Failed, Error: "out of memory: lower hyperparameters.batchSize")
            : new JobScript(EvalLoss: 2.0);
        await h.UploadAsync("faq.jsonl", Samples, """{"candidates": [{"loraR": 8}, {"loraR": 16}]}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(RunIds.Candidate(start.RunId, 1), done.ReadOutputAs<RunResult>()!.BestCandidate);
        var summary = await h.SummaryAsync(start.RunId);
        Assert.Equal(JobState.Failed, summary.Candidates[0].State);
        Assert.Equal(JobState.Succeeded, summary.Candidates[1].State);
    }

    [Fact]
    public async Task All_candidates_failing_fails_the_run_with_each_reason_and_publishes_nothing()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (id, _) => new JobScript(JobState.Failed, Error: $"corrupt training data ({id})");
        await h.UploadAsync("faq.jsonl", Samples, """{"sweep": {"loraR": [8, 16]}}""");

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("all candidates failed", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains($"corrupt training data ({RunIds.Candidate(start.RunId, 1)})", done.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        var summary = await h.SummaryAsync(start.RunId);
        Assert.Equal(StageState.Failed, summary.Stages["train"].State);
        Assert.Equal(StageState.Skipped, summary.Stages["publish"].State);
        Assert.False(await h.Store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(PipelineHarness.ModelName)));
    }

    [Fact]
    public async Task A_trainer_that_is_down_and_comes_back_is_retried()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples);
        h.Trainer.Unavailable = 3; // fewer than the 4 attempts of one call

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.True(h.Trainer.Calls.Count(c => c.StartsWith($"PUT {RunIds.Candidate(start.RunId, 0)}", StringComparison.Ordinal)) >= 4);
    }

    [Fact]
    public async Task A_trainer_down_for_good_fails_the_run_as_unreachable_after_retries()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples);
        h.Trainer.Unavailable = 1_000_000;

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("trainer unreachable after retries", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(4, h.Trainer.Calls.Count(c => c.StartsWith("PUT ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Jobs_unfinished_at_the_run_deadline_are_cancelled_and_the_run_times_out()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Timing = h.Timing with { Timeout = TimeSpan.FromSeconds(3) };
        h.Trainer.Script = (_, _) => JobScript.Never;
        await h.UploadAsync("faq.jsonl", Samples);

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("timed out", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(RunIds.Candidate(start.RunId, 0), h.Trainer.Cancelled);
    }

    [Fact]
    public async Task A_duplicate_trigger_for_the_same_blob_version_starts_no_second_run()
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples);

        var first = await h.TriggerAsync("faq.jsonl");
        var second = await h.TriggerAsync("faq.jsonl");
        await h.WaitAsync(first.RunId);
        var third = await h.TriggerAsync("faq.jsonl"); // re-delivered after the run ended

        Assert.True(first.Started);
        Assert.False(second.Started);
        Assert.False(third.Started);
        Assert.Equal(first.RunId, second.RunId);
        Assert.Equal(first.RunId, third.RunId);
        // Candidate jobs are "{run}-c{i}"; the run id itself is hex and may contain "-c".
        Assert.Single(h.Trainer.JobIds, id => id.StartsWith($"{first.RunId}-c", StringComparison.Ordinal));
        Assert.Contains(RunIds.Candidate(first.RunId, 0), h.Trainer.JobIds);
    }

    [Fact]
    public async Task A_long_job_continues_its_monitor_as_new_and_the_run_still_finishes()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Timing = h.Timing with { PollsPerHistory = 2 };
        h.Trainer.Script = (_, spec) => new JobScript(JobState.Succeeded, Polls: spec.Kind == JobKind.Train ? 7 : 1);
        await h.UploadAsync("faq.jsonl", Samples);

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var candidate = RunIds.Candidate(start.RunId, 0);
        Assert.Equal(candidate, done.ReadOutputAs<RunResult>()!.BestCandidate);
        // 7 polls at 2 per history: four generations, each starting with the idempotent PUT, which finds the same job
        Assert.Equal(4, h.Trainer.Calls.Count(c => c == $"PUT {candidate}"));
        Assert.Equal(7, h.Trainer.Calls.Count(c => c == $"GET {candidate}"));
        Assert.Equal(JobState.Succeeded, (await h.SummaryAsync(start.RunId)).Candidates.Single().State);
    }

    [Fact]
    public async Task No_usable_records_fails_the_run_with_the_cleaning_report()
    {
        await using var h = await PipelineHarness.StartAsync();
        var path = Path.Combine(h.Root, "short.jsonl");
        await File.WriteAllLinesAsync(path, ["""{"instruction": "退货？", "input": "", "output": "可以"}""", "not json"]);
        await h.UploadAsync("short.jsonl", path);

        var start = await h.TriggerAsync("short.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var message = done.FailureDetails!.ErrorMessage;
        Assert.Contains("no usable records", message, StringComparison.Ordinal);
        Assert.Contains("output_too_short: 1", message, StringComparison.Ordinal);
        Assert.Contains(BlobLayout.Dataset.CleaningReport(start.RunId), message, StringComparison.Ordinal);
        Assert.Empty(h.Trainer.Calls);
        Assert.Equal(StageState.Failed, (await h.SummaryAsync(start.RunId)).Stages["clean"].State);
    }

    [Theory]
    [InlineData("""{"modelName": "../evil"}""", "'modelName' '../evil' cannot name a model")]
    [InlineData("""{"modelName": "a\nb"}""", "'modelName' 'a\\u000ab' cannot name a model")]
    [InlineData("""{"modelName": "m%2F"}""", "'modelName' 'm%2F' cannot name a model")]
    [InlineData("""{"baseModelPrefix": "../../etc/"}""", "'baseModelPrefix' '../../etc/' is not a folder in models")]
    [InlineData("""{"baseModelPrefix": "/abs/"}""", "'baseModelPrefix' '/abs/' is not a folder in models")]
    public async Task Names_in_the_run_options_are_checked_at_the_first_stage_before_any_training(string options, string reason)
    {
        await using var h = await PipelineHarness.StartAsync();
        await h.UploadAsync("faq.jsonl", Samples, options);

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains(reason, done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(BlobLayout.PipelineOptions("faq.jsonl"), done.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(h.Trainer.Calls);
        Assert.Equal(StageState.Failed, (await h.SummaryAsync(start.RunId)).Stages["clean"].State);
    }

    /// <summary>The trainer's error code says what the refusal was; the message's words do not.</summary>
    [Theory]
    [InlineData(JobErrorCode.ParityGate, "merge refused: merged logits differ by up to 0.4 (tolerance 0.001)", "parity gate refused: failed: merge refused")]
    [InlineData(JobErrorCode.MergeFailed, "merge failed: parity.safetensors is truncated", "-merge failed: merge failed: parity.safetensors")]
    [InlineData(null, "merge failed: a trainer that sends no code", "-merge failed: merge failed: a trainer")]
    public async Task A_merge_refused_by_the_parity_gate_fails_the_run_and_publishes_nothing(JobErrorCode? code, string error, string reason)
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (_, spec) => spec.Kind == JobKind.Merge ? new JobScript(JobState.Failed, Error: error, ErrorCode: code) : new JobScript();
        await h.UploadAsync("faq.jsonl", Samples);

        var start = await h.TriggerAsync("faq.jsonl");
        var done = await h.WaitAsync(start.RunId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains(reason, done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(code == JobErrorCode.ParityGate, done.FailureDetails.ErrorMessage.Contains("parity gate refused", StringComparison.Ordinal));
        Assert.Equal(StageState.Failed, (await h.SummaryAsync(start.RunId)).Stages["merge"].State);
        Assert.False(await h.Store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(PipelineHarness.ModelName)));
    }

    [Fact]
    public void Run_ids_derive_from_the_blob_name_and_etag()
    {
        Assert.Equal(RunIds.For("faq.jsonl", "\"0x1\""), RunIds.For("faq.jsonl", "\"0x1\""));
        Assert.NotEqual(RunIds.For("faq.jsonl", "\"0x1\""), RunIds.For("faq.jsonl", "\"0x2\""));
        Assert.NotEqual(RunIds.For("faq.jsonl", "\"0x1\""), RunIds.For("faq2.jsonl", "\"0x1\""));
        Assert.Matches("^run-[0-9a-f]{16}$", RunIds.For("faq.jsonl", "\"0x1\""));
        // Pinned: every host instance, and every version of this code, must name a blob version's run alike (that is the
        // idempotency). The values are coreutils': printf 'NAME\nETAG' | sha256sum, first 16 hex digits.
        Assert.Equal("run-2b642270675b88d7", RunIds.For("faq.jsonl", "\"0x1\""));
        Assert.Equal("run-9c96e2d5198615c5", RunIds.For("客服问答.jsonl", "\"0x8DC4A2B3C4D5E6F\""));
        Assert.False(RunStarter.IsData("faq.jsonl.pipeline.json"));
        Assert.True(RunStarter.IsData("faq.jsonl"));
    }
}
