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
                             "warmupRatio": 0, "epochs": 2, "saveSteps": 5, "loggingSteps": 1}, "outputPrefix": "{{output}}"}
        """;

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
        else
            Assert.Contains(5, checkpoints);

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

    /// <summary>dotnet FunctionsLlm.Trainer.dll on a free loopback port, its output kept for failure messages.</summary>
    private sealed class TrainerProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private TrainerProcess(Process process, int port)
        {
            _process = process;
            Port = port;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public int Port { get; }

        public string Output { get { lock (_output) return _output.ToString(); } }

        public int ExitCode => _process.ExitCode;

        public static TrainerProcess Start(string cache, string store)
        {
            int port = LoopbackPort.Free();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FunctionsLlm.Trainer.dll"));
            start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
            start.Environment["FLM_STORAGE_FOLDER"] = store;
            start.Environment["FLM_TRAINER_CACHE"] = cache;
            start.Environment["FLM_TRAINER_API_KEY"] = TrainerApp.ApiKey;
            start.Environment["FLM_TRAINER_MAX_CONCURRENT_JOBS"] = "1";
            start.Environment["FLM_TRAINER_PROGRESS_SECONDS"] = "0";
            return new TrainerProcess(Process.Start(start)!, port);
        }

        /// <summary>A client once the process answers its liveness probe.</summary>
        public async Task<HttpClient> ClientAsync()
        {
            var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TrainerApp.ApiKey);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    using var ready = await client.GetAsync("/readyz");
                    if (ready.IsSuccessStatusCode)
                        return client;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline && !_process.HasExited)
                {
                }
                Assert.False(_process.HasExited, $"the trainer exited with {(_process.HasExited ? _process.ExitCode : 0)}\n{Output}");
                Assert.True(DateTime.UtcNow < deadline, $"the trainer was not ready within 60 s\n{Output}");
                await Task.Delay(200);
            }
        }

        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }

        public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_output)
                _output.AppendLine(line);
        }

    }
}
