using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Trainer.Jobs;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// The trainer app as a real process (<c>dotnet FunctionsLlm.Trainer.dll</c>, a local-folder store) that gets real
/// signals: SIGTERM mid-job checkpoints the job and exits 0 within the shutdown time, SIGKILL loses at most the steps
/// since the last stored checkpoint; either way a new process resumes the job to the adapter bytes of an uninterrupted run.
/// </summary>
public sealed class TrainerProcessTests : IDisposable
{
    private readonly TempFolder _root = new("flm-trainer-process-");

    public TrainerProcessTests() => LocalStoreFixture.Create(_root.File("store"), records: 24);

    public void Dispose() => _root.Dispose();

    private static string Spec(string output) => $$"""
        {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "d/train.jsonl"},
         "hyperparameters": {"loraR": 4, "loraAlpha": 8, "targetModules": ["all-linear"], "batchSize": 2, "gradAccum": 1, "lr": 0.01,
                             "warmupRatio": 0, "epochs": 8, "saveSteps": 5, "loggingSteps": 1}, "outputPrefix": "{{output}}"}
        """;   // 96 steps of a few ms: the job must still be running when a 50 ms poll sees step 7 (24 steps were once too few)

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task A_signalled_trainer_process_is_resumed_by_the_next_one_to_the_same_adapter(string signal)
    {
        const string Job = "signalled";
        int stoppedAt;
        using (var first = TrainerProcess.Start(_root.File("cache-1"), _root.File("store")))
        {
            var client = await first.ClientAsync();
            await TrainerApp.CreateAsync(client, Job, Spec("signalled-out/"));
            var running = await TrainerApp.WaitAsync(client, Job, s => s.IsTerminal || s.Progress?.Step >= 7, seconds: 180);
            Assert.True(running.State == JobState.Running, $"{running.State}: {running.Error}\n{first.Output}");
            first.Signal(signal);
            Assert.True(first.WaitForExit(TimeSpan.FromSeconds(90)), $"the trainer did not exit after SIG{signal}\n{first.Output}");
            if (signal == "TERM")
                Assert.True(first.ExitCode == 0, $"exit {first.ExitCode} after SIGTERM\n{first.Output}");
            var (_, left) = JobDocument.Read(File.ReadAllText(_root.File("store", "checkpoints", Job, "job.json")), "job.json");
            Assert.Equal(JobState.Running, left.State);
            stoppedAt = left.Progress!.Step;
        }
        var checkpoints = Directory.GetDirectories(_root.File("store", "checkpoints", Job, "checkpoints"))
            .Where(d => File.Exists(Path.Combine(d, "trainer_state.json")))
            .Select(d => int.Parse(Path.GetFileName(d)["checkpoint-".Length..], CultureInfo.InvariantCulture)).ToList();
        if (signal == "TERM")
            Assert.Contains(stoppedAt, checkpoints);   // the shutdown wrote a checkpoint where it stopped (saveSteps is 5)
        else   // a stored checkpoint to resume from (steps are fast: the kill may land well past step 7, and older checkpoints are pruned)
            Assert.Contains(checkpoints, step => step <= stoppedAt);

        using var second = TrainerProcess.Start(_root.File("cache-2"), _root.File("store"));
        var client2 = await second.ClientAsync();
        var resumed = await TrainerApp.WaitAsync(client2, Job, seconds: 240);
        Assert.True(resumed.State == JobState.Succeeded, $"{resumed.Error}\n{second.Output}");
        await TrainerApp.CreateAsync(client2, "straight", Spec("straight-out/"));
        var straight = await TrainerApp.WaitAsync(client2, "straight", seconds: 240);
        Assert.True(straight.State == JobState.Succeeded, straight.Error);
        Assert.Equal(File.ReadAllBytes(_root.File("store", "checkpoints", "straight-out", "adapter_model.safetensors")),
            File.ReadAllBytes(_root.File("store", "checkpoints", "signalled-out", "adapter_model.safetensors")));
    }
}
