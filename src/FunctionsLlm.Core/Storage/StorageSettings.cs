using Azure.Storage.Blobs;

namespace FunctionsLlm.Core.Storage;

/// <summary>
/// Where an app keeps its artifacts, one of: <c>FLM_STORAGE_BLOB_URI</c> with the app's managed identity
/// (<c>AZURE_CLIENT_ID</c>), <c>FLM_STORAGE_CONNECTION_STRING</c> (Azurite), or <c>FLM_STORAGE_FOLDER</c> (a local
/// folder, one sub-folder per container). The pipeline, trainer and inference apps all read it here.
/// </summary>
public sealed record StorageSettings(string? BlobUri = null, string? ConnectionString = null, string? Folder = null, string? ClientId = null)
{
    /// <summary>Reads the settings through <paramref name="setting"/> (blank counts as unset); adds what is wrong to <paramref name="problems"/>.</summary>
    public static StorageSettings Read(Func<string, string?> setting, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentNullException.ThrowIfNull(problems);
        string? Text(string name) => setting(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
        var settings = new StorageSettings(Text("FLM_STORAGE_BLOB_URI"), Text("FLM_STORAGE_CONNECTION_STRING"), Text("FLM_STORAGE_FOLDER"),
            Text("AZURE_CLIENT_ID"));
        int stores = new[] { settings.BlobUri, settings.ConnectionString, settings.Folder }.Count(s => s is not null);
        if (stores == 0)
            problems.Add("no storage: set FLM_STORAGE_BLOB_URI (Azure, managed identity), FLM_STORAGE_CONNECTION_STRING (Azurite) or FLM_STORAGE_FOLDER (a local folder)");
        else if (stores > 1)
            problems.Add("set only one of FLM_STORAGE_BLOB_URI, FLM_STORAGE_CONNECTION_STRING and FLM_STORAGE_FOLDER");
        if (settings.BlobUri is { } uri && !Uri.TryCreate(uri, UriKind.Absolute, out _))
            problems.Add($"FLM_STORAGE_BLOB_URI must be an absolute URI (https://ACCOUNT.blob.core.windows.net/), got '{uri}'");
        return settings;
    }

    public IArtifactStore CreateStore()
    {
        if (ConnectionString is { } connection)
            return BlobArtifactStore.FromConnectionString(connection);
        if (Folder is { } folder)
            return new LocalFolderStore(folder);
        if (BlobUri is not { } uri)
            throw new InvalidOperationException("no storage is configured (FLM_STORAGE_BLOB_URI, FLM_STORAGE_CONNECTION_STRING or FLM_STORAGE_FOLDER)");
        return new BlobArtifactStore(new BlobServiceClient(new Uri(uri), AppIdentity.Credential(ClientId)));
    }
}
