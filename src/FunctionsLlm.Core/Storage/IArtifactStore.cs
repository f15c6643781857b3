namespace FunctionsLlm.Core.Storage;

/// <summary>
/// Where the pipeline keeps its artifacts: Blob Storage in Azure and with Azurite, a local folder when embedded.
/// An artifact is addressed by a container (see <see cref="BlobLayout"/>) and a '/'-separated name inside it.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Opens the artifact for streaming reads. Throws <see cref="ArtifactNotFoundException"/> if it does not exist.</summary>
    Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>Writes the stream as the artifact, replacing any existing one; readers never see a half-written artifact.</summary>
    Task WriteAsync(string container, string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Returns the artifact's properties, or null when it does not exist.</summary>
    Task<ArtifactInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>Lists the artifacts whose names start with <paramref name="prefix"/>, ordered by name.</summary>
    IAsyncEnumerable<ArtifactInfo> ListAsync(string container, string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>Deletes the artifact; returns false when there was nothing to delete. Throws <see cref="ArtifactLeasedException"/> while someone holds a lease on it.</summary>
    Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes an exclusive lease on the artifact for <paramref name="duration"/> (15 to 60 s, Blob Storage's range), to be
    /// renewed before it ends; null when someone else holds it. Throws <see cref="ArtifactNotFoundException"/> if it does not exist.
    /// </summary>
    Task<IArtifactLease?> TryLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default);
}
