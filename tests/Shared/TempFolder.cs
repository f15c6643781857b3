namespace FunctionsLlm.Tests;

/// <summary>
/// A fresh folder under the system temp folder (<c>{prefix}XXXXXX</c>), deleted with its contents on dispose. It converts
/// to its path, so it goes wherever a folder path does.
/// </summary>
internal sealed class TempFolder(string prefix = "flm-test-") : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>A path inside the folder (nothing is created).</summary>
    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>The names of the files directly in the folder, sorted ordinally.</summary>
    public string[] FileNames() =>
        [.. Directory.EnumerateFiles(Path).Select(p => System.IO.Path.GetFileName(p)).Order(StringComparer.Ordinal)];

    public static implicit operator string(TempFolder folder) => folder.Path;

    public override string ToString() => Path;

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
