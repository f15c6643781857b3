using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Tests.Models;

/// <summary>Passes every call to another store, counts reads, and lets a test slow down or break a read.</summary>
internal sealed class ObservedStore(IArtifactStore inner) : IArtifactStore
{
    private int _opens;

    public int Opens => Volatile.Read(ref _opens);

    /// <summary>Runs before each read with the artifact's name.</summary>
    public Func<string, CancellationToken, Task>? BeforeOpen { get; set; }

    public async Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opens);
        if (BeforeOpen is { } hook)
            await hook(name, cancellationToken);
        return await inner.OpenReadAsync(container, name, cancellationToken);
    }

    public Task WriteAsync(string container, string name, Stream content, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(container, name, content, cancellationToken);

    public Task<ArtifactInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default) =>
        inner.GetInfoAsync(container, name, cancellationToken);

    public IAsyncEnumerable<ArtifactInfo> ListAsync(string container, string prefix = "", CancellationToken cancellationToken = default) =>
        inner.ListAsync(container, prefix, cancellationToken);

    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default) =>
        inner.DeleteAsync(container, name, cancellationToken);

    public Task<IArtifactLease?> TryLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default) =>
        inner.TryLeaseAsync(container, name, duration, cancellationToken);
}
