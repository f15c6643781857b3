namespace FunctionsLlm.Core.Storage;

/// <summary>
/// A local folder's lease: a lock file under <c>{root}/.leases/</c> (no container is called that) held open with
/// <see cref="FileShare.None"/>, which .NET on Linux and macOS takes as an exclusive advisory lock (flock) and Windows as
/// a sharing lock. The lock belongs to the open file, so it excludes other processes and other leases in this one, and
/// ends with its process: a holder that dies loses it at once. The artifact itself stays readable.
/// </summary>
internal sealed class LocalFileLease(FileStream lockFile, string path, string container, string name) : IArtifactLease
{
    /// <summary>The lock file of an artifact's lease.</summary>
    public static string LockPath(string root, string container, string name) =>
        Path.Combine(root, ".leases", container, name.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The lease, or null when another holder has it.</summary>
    public static IArtifactLease? TryAcquire(string root, string path, string container, string name, string where)
    {
        if (!File.Exists(path))
            throw new ArtifactNotFoundException(container, name, where);
        string lockPath = LockPath(root, container, name);
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;   // locked by another holder
        }
        // A holder that deleted the artifact also deleted the lock file this may have opened just before: nothing is leased then.
        if (!File.Exists(path))
        {
            lockFile.Dispose();
            throw new ArtifactNotFoundException(container, name, where);
        }
        return new LocalFileLease(lockFile, path, container, name);
    }

    /// <summary>Whether a lease on the artifact is held now (by anyone, this process included).</summary>
    public static bool IsHeld(string root, string container, string name)
    {
        string lockPath = LockPath(root, container, name);
        if (!File.Exists(lockPath))
            return false;
        try
        {
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    // The lock lasts as long as the file is open; it is only lost if someone deleted the artifact.
    public Task RenewAsync(CancellationToken cancellationToken = default) =>
        File.Exists(path) ? Task.CompletedTask : throw new ArtifactLeaseLostException(container, name, "the artifact was deleted");

    public Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        File.Delete(path);
        File.Delete(lockFile.Name);
        lockFile.Dispose();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => lockFile.DisposeAsync();
}
