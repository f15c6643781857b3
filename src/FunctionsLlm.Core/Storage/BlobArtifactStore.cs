using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace FunctionsLlm.Core.Storage;

/// <summary>Artifacts as block blobs (Azure Storage, or Azurite locally). Containers are created on first write.</summary>
public sealed class BlobArtifactStore : IArtifactStore
{
    private static readonly StorageTransferOptions Transfer = new()
    {
        InitialTransferSize = 8 * 1024 * 1024,
        MaximumTransferSize = 8 * 1024 * 1024,
        MaximumConcurrency = 4,
    };

    private readonly BlobServiceClient _service;
    private readonly ConcurrentDictionary<string, Task> _ensuredContainers = new(StringComparer.Ordinal);

    public BlobArtifactStore(BlobServiceClient service) => _service = service ?? throw new ArgumentNullException(nameof(service));

    /// <summary>From a storage connection string (e.g. <c>UseDevelopmentStorage=true</c> for Azurite).</summary>
    public static BlobArtifactStore FromConnectionString(string connectionString) => new(new BlobServiceClient(connectionString));

    public async Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var blob = Blob(container, name);
        try
        {
            return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ArtifactNotFoundException(container, name, $"blob account {_service.AccountName}", e);
        }
    }

    public async Task WriteAsync(string container, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var blob = Blob(container, name);
        await EnsureContainerAsync(container, cancellationToken).ConfigureAwait(false);
        // Block blobs commit atomically: readers see the old content until the block list is committed.
        await blob.UploadAsync(content, new BlobUploadOptions { TransferOptions = Transfer }, cancellationToken)
            .ConfigureAwait(false);
    }

    public async Task<ArtifactInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var props = await Blob(container, name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ArtifactInfo(container, name, props.Value.ContentLength, props.Value.LastModified, props.Value.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string container, string prefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactName.ValidateContainer(container);
        ArtifactName.ValidatePrefix(prefix);
        var client = _service.GetBlobContainerClient(container);
        var pages = client.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix.Length == 0 ? null : prefix }, cancellationToken);
        var enumerator = pages.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                BlobItem item;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        yield break;
                    item = enumerator.Current;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    yield break; // a container that does not exist yet holds nothing
                }
                yield return new ArtifactInfo(container, item.Name, item.Properties.ContentLength ?? 0,
                    item.Properties.LastModified ?? default, item.Properties.ETag?.ToString() ?? "");
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await Blob(container, name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
        catch (RequestFailedException e) when (e.Status == 412 && e.ErrorCode == BlobErrorCode.LeaseIdMissing)
        {
            throw new ArtifactLeasedException(container, name, e);
        }
    }

    public Task<IArtifactLease?> TryLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArtifactLease.CheckDuration(duration);
        return BlobArtifactLease.TryAcquireAsync(Blob(container, name), $"blob account {_service.AccountName}", duration, cancellationToken);
    }

    private BlobClient Blob(string container, string name)
    {
        ArtifactName.ValidateContainer(container);
        ArtifactName.ValidateName(name);
        return _service.GetBlobContainerClient(container).GetBlobClient(name);
    }

    private async Task EnsureContainerAsync(string container, CancellationToken cancellationToken)
    {
        var task = _ensuredContainers.GetOrAdd(container,
            c => _service.GetBlobContainerClient(c).CreateIfNotExistsAsync(cancellationToken: CancellationToken.None));
        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            _ensuredContainers.TryRemove(new KeyValuePair<string, Task>(container, task)); // retry on the next write
            throw;
        }
    }
}
