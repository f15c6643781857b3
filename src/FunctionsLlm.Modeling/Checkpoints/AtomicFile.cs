namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// Writes a file through <c>{path}.tmp-{random}</c>, flushed to disk, then renamed over <c>path</c>: readers (and a
/// crash) see the old file or the new one, never half of one, and a longer old file is replaced, not overwritten.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
            throw;
        }
    }
}
