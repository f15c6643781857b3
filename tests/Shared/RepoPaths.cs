namespace FunctionsLlm.Tests;

/// <summary>Locates the repository root and the shared fixtures (a sibling folder of the clone).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary><c>../shared/fixtures</c> next to the clone; overridable with FLM_FIXTURES for unusual layouts.</summary>
    public static string Fixtures { get; } =
        Environment.GetEnvironmentVariable("FLM_FIXTURES") is { Length: > 0 } overridden
            ? overridden
            : Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures"));

    public static string Samples => Path.Combine(Root, "samples");

    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FunctionsLlm.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException(
            $"FunctionsLlm.sln not found above {AppContext.BaseDirectory}");
    }
}
