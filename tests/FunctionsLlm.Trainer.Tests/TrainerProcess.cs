using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using FunctionsLlm.Core;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>dotnet FunctionsLlm.Trainer.dll on a free loopback port, its output kept for failure messages.</summary>
internal sealed class TrainerProcess : IDisposable
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

    /// <summary>A trainer on a local-folder store.</summary>
    public static TrainerProcess Start(string cache, string store) => Start(cache, new Dictionary<string, string?> { ["FLM_STORAGE_FOLDER"] = store });

    /// <summary>A trainer with these storage (and other) settings.</summary>
    public static TrainerProcess Start(string cache, IReadOnlyDictionary<string, string?> settings)
    {
        int port = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FunctionsLlm.Trainer.dll"));
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["FLM_TRAINER_CACHE"] = cache;
        start.Environment["FLM_TRAINER_API_KEY"] = TrainerApp.ApiKey;
        start.Environment["FLM_TRAINER_MAX_CONCURRENT_JOBS"] = "1";
        start.Environment["FLM_TRAINER_PROGRESS_SECONDS"] = "0";
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
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
