using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Tests;
using FunctionsLlm.Trainer.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// Two trainer replicas on one Azurite store, as Container Apps runs them behind one ingress: a job is run by the replica
/// holding its lease and by no other, a DELETE sent to either replica stops it, and when the holder is killed the other
/// takes the job over once its lease lapses and ends it with the adapter bytes of an uninterrupted run.
/// </summary>
public sealed class TrainerReplicaTests : IDisposable
{
    private const string LeaseSeconds = "15";   // Blob Storage's shortest lease: renewed every 5 s, taken over ≤ 15 s after a death
    private readonly TempFolder _root = new("flm-trainer-replicas-");
    private readonly string _s = Guid.NewGuid().ToString("N")[..8];
    private readonly IArtifactStore _store = BlobArtifactStore.FromConnectionString(Azurite.TrainerConnectionString);

    public TrainerReplicaTests()
    {
        string local = _root.File("fixture");
        LocalStoreFixture.Create(local, records: 24);
        foreach (string file in Directory.GetFiles(Path.Combine(local, "models", "base", "tiny")))
            _store.UploadFileAsync(BlobLayout.Models, BasePrefix + Path.GetFileName(file), file).GetAwaiter().GetResult();
        _store.UploadFileAsync(BlobLayout.Datasets, TrainData, Path.Combine(local, "datasets", "d", "train.jsonl")).GetAwaiter().GetResult();
    }

    public void Dispose() => _root.Dispose();

    private string BasePrefix => $"base/replicas-{_s}/";

    private string TrainData => $"replicas-{_s}/train.jsonl";

    // 12 steps an epoch (24 records, batches of 2).
    private string Spec(string output, int epochs = 2) => $$"""
        {"kind": "train", "baseModelPrefix": "{{BasePrefix}}", "datasetPrefixes": {"train": "{{TrainData}}"},
         "hyperparameters": {"loraR": 4, "loraAlpha": 8, "targetModules": ["all-linear"], "batchSize": 2, "gradAccum": 1, "lr": 0.01,
                             "warmupRatio": 0, "epochs": {{epochs}}, "saveSteps": 5, "loggingSteps": 1}, "outputPrefix": "{{output}}"}
        """;

    private Dictionary<string, string?> Settings(string cache) => new()
    {
        ["FLM_STORAGE_CONNECTION_STRING"] = Azurite.TrainerConnectionString,
        ["FLM_TRAINER_CACHE"] = _root.File(cache),
        ["FLM_TRAINER_API_KEY"] = TrainerApp.ApiKey,
        ["FLM_TRAINER_MAX_CONCURRENT_JOBS"] = "1",
        ["FLM_TRAINER_PROGRESS_SECONDS"] = "0",
        ["FLM_TRAINER_LEASE_SECONDS"] = LeaseSeconds,
    };

    [Fact]
    public async Task A_job_held_by_one_replica_is_never_run_by_the_other_and_a_delete_sent_to_the_other_stops_it()
    {
        string id = $"held-{_s}";
        var steps = new ConcurrentQueue<(string Replica, int Step)>();
        using var reached = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        JobHooks Hooks(string replica) => new()
        {
            AfterStep = (job, p) =>
            {
                if (job != id)
                    return;
                steps.Enqueue((replica, p.Step));
                if (p.Step == 2)
                {
                    reached.Set();
                    release.Wait(TimeSpan.FromSeconds(120));
                }
            },
        };
        using var a = new TrainerApp(Settings("cache-a"), s => s.AddSingleton(Hooks("a")));
        using var b = new TrainerApp(Settings("cache-b"), s => s.AddSingleton(Hooks("b")));
        var clients = new Dictionary<string, HttpClient> { ["a"] = a.Client(), ["b"] = b.Client() };
        var apps = new Dictionary<string, TrainerApp> { ["a"] = a, ["b"] = b };
        await TrainerApp.CreateAsync(clients["a"], id, Spec($"{id}-out/"));
        Assert.True(reached.Wait(TimeSpan.FromSeconds(120)), "the job reached step 2");
        string owner = steps.First().Replica, other = owner == "a" ? "b" : "a";

        // Longer than a lease: the holder keeps renewing it, and the other replica, looking every 5 s, never claims the job.
        await Task.Delay(TimeSpan.FromSeconds(20));
        Assert.All(steps, s => Assert.Equal(owner, s.Replica));
        foreach (var client in clients.Values)
            Assert.Equal(JobState.Running, (await TrainerApp.WaitAsync(client, id, s => true)).State);

        using var delete = await clients[other].DeleteAsync($"/jobs/{id}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.True(await _store.ExistsAsync(BlobLayout.Checkpoints, JobRegistry.CancelPrefix + id), "the request is left for the holder");
        var held = (await apps[owner].Services.GetRequiredService<JobRegistry>().GetAsync(id, CancellationToken.None))!;
        for (int i = 0; i < 100 && !held.CancelRequested; i++)
            await Task.Delay(100);
        Assert.True(held.CancelRequested, "the holder read the cancel request within a lease tick (5 s)");
        release.Set();

        var status = await TrainerApp.WaitAsync(clients[other], id, seconds: 60);
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Equal("cancelled by DELETE at step 2", status.Error);
        Assert.All(steps, s => Assert.Equal(owner, s.Replica));
        // The holder writes the final state first and then removes the marker and the request (a crash in between leaves
        // a finished job, never a running one without a holder), so they go just after the state is readable.
        Assert.True(await GoneAsync(JobRegistry.ActivePrefix + id), "a finished job has no marker");
        Assert.True(await GoneAsync(JobRegistry.CancelPrefix + id), "nor a cancel request");
    }

    private async Task<bool> GoneAsync(string name)
    {
        for (int i = 0; i < 100; i++)
        {
            if (!await _store.ExistsAsync(BlobLayout.Checkpoints, name))
                return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task When_the_replica_running_a_job_is_killed_the_other_takes_it_over_once_to_the_same_adapter()
    {
        string id = $"killed-{_s}", straight = $"straight-{_s}";
        using var first = TrainerProcess.Start(_root.File("cache-1"), Settings("cache-1"));
        using var second = TrainerProcess.Start(_root.File("cache-2"), Settings("cache-2"));
        var replicas = new[] { first, second };
        var clients = new[] { await first.ClientAsync(), await second.ClientAsync() };
        // 10 epochs, 120 steps: the job must still be running when the test, polling every 50 ms, sees step 7 (at 24
        // steps the tiny model once finished in between).
        await TrainerApp.CreateAsync(clients[0], id, Spec($"{id}-out/", epochs: 10));
        var running = await TrainerApp.WaitAsync(clients[0], id, s => s.IsTerminal || s.Progress?.Step >= 7, seconds: 180);
        Assert.True(running.State == JobState.Running, $"{running.State}: {running.Error}\n{first.Output}\n{second.Output}");

        int owner = Array.FindIndex(replicas, r => Runs(r.Output, id, "started") == 1);
        Assert.True(owner >= 0, $"one replica started the job\n{first.Output}\n{second.Output}");
        var survivor = replicas[1 - owner];
        replicas[owner].Signal("KILL");
        Assert.True(replicas[owner].WaitForExit(TimeSpan.FromSeconds(30)), "the owner died");
        int stoppedAt = JobDocument.Read(await _store.ReadTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(id)), "job.json").Status.Progress!.Step;

        // Its lease lapses (15 s) and the survivor's next look (every 5 s) claims the job: it resumes from the newest checkpoint.
        var client = clients[1 - owner];
        var resumed = await TrainerApp.WaitAsync(client, id, seconds: 180);
        Assert.True(resumed.State == JobState.Succeeded, $"{resumed.Error}\n{survivor.Output}");
        Assert.Equal(0, Runs(survivor.Output, id, "started"));
        Assert.Equal(1, Runs(survivor.Output, id, "taken over"));
        Assert.Equal(120, resumed.Result!.Metrics["steps"]);

        // Every step is logged once: the survivor went on from the checkpoint, not from scratch and not twice.
        var logged = (await _store.ReadTextAsync(BlobLayout.Checkpoints, $"{id}-out/metrics.jsonl"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(line => line.TryGetProperty("loss", out _))
            .Select(line => line.GetProperty("step").GetInt32());
        Assert.Equal(Enumerable.Range(1, 120), logged);
        Assert.True(stoppedAt >= 7, $"the kill came at step {stoppedAt}");

        await TrainerApp.CreateAsync(client, straight, Spec($"{straight}-out/", epochs: 10));
        var reference = await TrainerApp.WaitAsync(client, straight, seconds: 180);
        Assert.True(reference.State == JobState.Succeeded, reference.Error);
        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{straight}-out/adapter_model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{id}-out/adapter_model.safetensors"));
    }

    // How many times a replica's log says the job "started" or was "taken over".
    private static int Runs(string output, string id, string what) =>
        Regex.Matches(output, $@"job {Regex.Escape(id)} \(Train\) {what}").Count;
}
