using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Tests;

namespace FunctionsLlm.IntegrationTests.Pipeline;

/// <summary>
/// The trainer's view of the store, which can serve every trained adapter blown up (<see cref="BlownUpAdapter"/>)
/// to the jobs that read one: a merge then meets an adapter as a diverged run leaves it. Checkpoints read to resume a
/// train job, and everything else, pass through.
/// </summary>
internal sealed class BlownUpAdapterStore(IArtifactStore inner, string scratch) : IArtifactStore
{
    public volatile bool BlowUpAdapters;

    public async Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        if (!BlowUpAdapters || container != BlobLayout.Checkpoints || !name.EndsWith("/adapter_model.safetensors", StringComparison.Ordinal)
            || name.Contains("/checkpoints/", StringComparison.Ordinal))
            return await inner.OpenReadAsync(container, name, cancellationToken);
        string copy = Path.Combine(Directory.CreateDirectory(scratch).FullName, $"{Guid.NewGuid():N}.safetensors");
        await inner.DownloadFileAsync(container, name, copy, cancellationToken);
        BlownUpAdapter.Apply(copy);
        return new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.DeleteOnClose);
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
