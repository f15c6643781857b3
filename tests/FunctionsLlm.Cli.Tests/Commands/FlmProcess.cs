using System.Diagnostics;
using System.Text;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary>
/// <c>flm</c> as a child process (the flm.dll built next to these tests), for what only a real process shows: signals,
/// exit codes of crashes, and runtime settings that apply from start-up (environment variables).
/// </summary>
internal sealed class FlmProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private FlmProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public string Error { get { lock (_error) return _error.ToString(); } }

    public int Id => _process.Id;

    public static FlmProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flm.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        return new FlmProcess(Process.Start(start)!);
    }

    /// <summary>Runs to the end (killed after <paramref name="timeout"/>); returns the exit code.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout,
        params string[] args)
    {
        using var process = Start(environment, args);
        int code = await process.WaitAsync(timeout);
        return (code, process.Output, process.Error);
    }

    /// <summary>The address <c>flm serve</c> prints once it listens.</summary>
    public async Task<Uri> ServeAddressAsync()
    {
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(90); await Task.Delay(50))
        {
            if (System.Text.RegularExpressions.Regex.Match(Output, @"serving '[^']+' on (http://\S+) ") is { Success: true } match)
                return new Uri(match.Groups[1].Value);
        }
        throw new TimeoutException($"flm serve did not print its address: {Error}");
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"flm did not exit within {timeout}: {Error}");
        }
        _process.WaitForExit();   // drains the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
            return;
        lock (text)
            text.AppendLine(line);
    }
}
