namespace FunctionsLlm.Data;

/// <summary>Output files of the data steps.</summary>
public static class OutputFile
{
    /// <summary>
    /// Creates the file anew, replacing an existing one by deleting it first. Truncating it instead (FileMode.Create)
    /// makes ext4 write the whole new file back to disk when it is closed (its guard for files replaced by truncation;
    /// the cost is measured in bench/README.md).
    /// </summary>
    public static FileStream Create(string path)
    {
        File.Delete(path);
        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
    }
}
