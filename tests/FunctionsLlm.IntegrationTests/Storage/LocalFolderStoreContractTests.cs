using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.IntegrationTests.Storage;

/// <summary>The same contract against the embedded mode's folder store, so both behave alike.</summary>
public sealed class LocalFolderStoreContractTests : ArtifactStoreContract, IDisposable
{
    private readonly TempFolder _root = new("flm-store-");

    public LocalFolderStoreContractTests() => Store = new LocalFolderStore(_root);

    protected override IArtifactStore Store { get; }

    public void Dispose() => _root.Dispose();
}
