using System.Diagnostics;
using System.Reflection;

namespace FunctionsLlm.Infrastructure.Tests.Bicep;

/// <summary>Runs the Bicep CLI restored by this project's PackageDownload (or FLM_BICEP, when set).</summary>
internal static class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static string Path { get; } = Locate();

    /// <summary>
    /// Runs <c>bicep ARGS</c> in <paramref name="workingDirectory"/>. Variables a .bicepparam file reads with
    /// readEnvironmentVariable (FLM_*, SERVICE_*, AZURE_*) are removed, so results never depend on the shell.
    /// </summary>
    public static async Task<BicepResult> RunAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (string name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("FLM_", StringComparison.Ordinal) || name.StartsWith("SERVICE_", StringComparison.Ordinal)
                || name.StartsWith("AZURE_", StringComparison.Ordinal))
                start.Environment.Remove(name);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Path}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} ran longer than {Timeout}");
        }
        return new BicepResult(string.Join(' ', arguments), process.ExitCode, await stdout, await stderr);
    }

    private static string Locate()
    {
        string? path = Environment.GetEnvironmentVariable("FLM_BICEP");
        if (string.IsNullOrEmpty(path))
        {
            path = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "BicepPath").Value;
        }
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Bicep CLI not found at '{path}'. `dotnet restore FunctionsLlm.sln` downloads it " +
                "(Azure.Bicep.CommandLine.linux-x64, linux-x64 only); FLM_BICEP overrides the path.");
        }
        // NuGet does not always keep the executable bit of files it extracts.
        if (!OperatingSystem.IsWindows())
        {
            UnixFileMode mode = File.GetUnixFileMode(path);
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0)
                File.SetUnixFileMode(path, mode | execute);
        }
        return path;
    }
}

internal sealed record BicepResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostic lines (`file(line,col) : Warning|Error|Info code: message`), whatever the level.</summary>
    public IReadOnlyList<string> Diagnostics =>
        (StandardOutput + "\n" + StandardError).Split('\n')
            .Select(l => l.TrimEnd())
            .Where(l => l.Contains(") : ", StringComparison.Ordinal))
            .ToList();

    public override string ToString() =>
        $"bicep {Command} exited {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
}
