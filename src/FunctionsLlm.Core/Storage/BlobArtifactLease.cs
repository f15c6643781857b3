using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace FunctionsLlm.Core.Storage;

/// <summary>A Blob Storage lease: the service lets it lapse when it is not renewed within its duration.</summary>
internal sealed class BlobArtifactLease(BlobClient blob, BlobLeaseClient lease) : IArtifactLease
{
    private bool _ended;

    /// <summary>The lease, or null when another holder has it (409).</summary>
    public static async Task<IArtifactLease?> TryAcquireAsync(BlobClient blob, string where, TimeSpan duration, CancellationToken cancellationToken)
    {
        var lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(duration, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new BlobArtifactLease(blob, lease);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ArtifactNotFoundException(blob.BlobContainerName, blob.Name, where, e);
        }
    }

    public async Task RenewAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await lease.RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 404)
        {
            throw new ArtifactLeaseLostException(blob.BlobContainerName, blob.Name, e.ErrorCode ?? $"HTTP {e.Status}", e);
        }
    }

    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await blob.DeleteIfExistsAsync(conditions: new BlobRequestConditions { LeaseId = lease.LeaseId }, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            _ended = true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw new ArtifactLeaseLostException(blob.BlobContainerName, blob.Name, e.ErrorCode ?? $"HTTP {e.Status}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ended)
            return;
        _ended = true;
        try
        {
            await lease.ReleaseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException)
        {
            // Lost or unreachable: the lease ends by itself when its duration runs out.
        }
    }
}
