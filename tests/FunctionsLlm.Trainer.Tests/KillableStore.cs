using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>A store that stops answering at <see cref="Kill"/>: after it, the process it serves can change nothing in storage, as if it had died.</summary>
internal sealed class KillableStore(IArtifactStore inner) : IArtifactStore
{
    private volatile bool _killed;

    public void Kill() => _killed = true;

    private IArtifactStore Inner => _killed ? throw new IOException("the process was killed") : inner;

    public Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default) =>
        Inner.OpenReadAsync(container, name, cancellationToken);

    public Task WriteAsync(string container, string name, Stream content, CancellationToken cancellationToken = default) =>
        Inner.WriteAsync(container, name, content, cancellationToken);

    public Task<ArtifactInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default) =>
        Inner.GetInfoAsync(container, name, cancellationToken);

    public IAsyncEnumerable<ArtifactInfo> ListAsync(string container, string prefix = "", CancellationToken cancellationToken = default) =>
        Inner.ListAsync(container, prefix, cancellationToken);

    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default) =>
        Inner.DeleteAsync(container, name, cancellationToken);

    public async Task<IArtifactLease?> TryLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default) =>
        await Inner.TryLeaseAsync(container, name, duration, cancellationToken) is { } lease ? new KillableLease(this, lease) : null;

    /// <summary>After the kill it neither renews nor releases: the lease lapses as a dead process's would.</summary>
    private sealed class KillableLease(KillableStore store, IArtifactLease inner) : IArtifactLease
    {
        private IArtifactLease Inner => store._killed ? throw new IOException("the process was killed") : inner;

        public Task RenewAsync(CancellationToken cancellationToken = default) => Inner.RenewAsync(cancellationToken);

        public Task DeleteAsync(CancellationToken cancellationToken = default) => Inner.DeleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => store._killed ? ValueTask.CompletedTask : inner.DisposeAsync();
    }
}
