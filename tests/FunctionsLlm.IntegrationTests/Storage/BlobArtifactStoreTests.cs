using Azure.Storage.Blobs;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.IntegrationTests.Storage;

/// <summary>The store contract against Azurite, started by scripts/test.sh (FLM_TEST_STORAGE_CONNECTION).</summary>
public sealed class BlobArtifactStoreTests : ArtifactStoreContract
{
    protected override IArtifactStore Store { get; } = new BlobArtifactStore(new BlobServiceClient(Azurite.ConnectionString));

    [Fact]
    public async Task Writes_create_the_container_on_demand()
    {
        var container = $"c{Guid.NewGuid():N}"[..24];
        await Store.WriteTextAsync(container, "a.txt", "hello");

        var service = new BlobServiceClient(Azurite.ConnectionString);
        Assert.True(await service.GetBlobContainerClient(container).ExistsAsync());
        await service.DeleteBlobContainerAsync(container);
    }
}
