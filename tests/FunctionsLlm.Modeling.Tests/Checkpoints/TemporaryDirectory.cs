namespace FunctionsLlm.Modeling.Tests.Checkpoints;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"flm-ckpt-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>File names in the directory, sorted.</summary>
    public string[] FileNames() =>
        [.. Directory.EnumerateFiles(Path).Select(p => System.IO.Path.GetFileName(p)!).Order(StringComparer.Ordinal)];

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
