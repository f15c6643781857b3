using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Tests.Storage;

public class StorageSettingsTests
{
    private static (StorageSettings Settings, List<string> Problems) Read(params (string Name, string Value)[] values)
    {
        var problems = new List<string>();
        var settings = StorageSettings.Read(name => values.FirstOrDefault(v => v.Name == name).Value, problems);
        return (settings, problems);
    }

    [Fact]
    public void Exactly_one_store_must_be_named_and_a_blob_uri_must_be_absolute()
    {
        Assert.Contains("no storage: set FLM_STORAGE_BLOB_URI", Assert.Single(Read(("FLM_STORAGE_FOLDER", "  ")).Problems));
        Assert.Contains("set only one of", Assert.Single(Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_STORAGE_CONNECTION_STRING", "y")).Problems));
        Assert.Contains("must be an absolute URI", Assert.Single(Read(("FLM_STORAGE_BLOB_URI", "acct.blob")).Problems));
    }

    [Fact]
    public void Each_setting_makes_its_store()
    {
        using var folder = new TempFolder("flm-storage-settings-");
        var (local, none) = Read(("FLM_STORAGE_FOLDER", folder.Path));
        Assert.Empty(none);
        Assert.IsType<LocalFolderStore>(local.CreateStore());
        Assert.IsType<BlobArtifactStore>(Read(("FLM_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")).Settings.CreateStore());
        var (blob, _) = Read(("FLM_STORAGE_BLOB_URI", "https://acct.blob.core.windows.net/"), ("AZURE_CLIENT_ID", "0000"));
        Assert.Equal("0000", blob.ClientId);
        Assert.IsType<BlobArtifactStore>(blob.CreateStore());
    }
}
