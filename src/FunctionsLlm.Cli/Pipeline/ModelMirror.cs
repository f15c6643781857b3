using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Cli.Pipeline;

/// <summary>
/// Puts a local model folder into the store's <c>models/{prefix}</c>, where the pipeline's jobs read their base model.
/// Files already there with the same length and write time are kept (a second run copies nothing); files the folder
/// no longer has are removed, so the copy is exactly the folder.
/// </summary>
internal static class ModelMirror
{
    public static async Task MirrorAsync(string folder, LocalFolderStore store, string prefix, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(folder, "config.json")))
            throw new InvalidDataException($"{folder} is not a model folder: it has no config.json");
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in new DirectoryInfo(folder).EnumerateFiles())
        {
            wanted.Add(prefix + source.Name);
            var target = new FileInfo(store.PathOf(BlobLayout.Models, prefix + source.Name));
            if (target.Exists && target.Length == source.Length && target.LastWriteTimeUtc == source.LastWriteTimeUtc)
                continue;
            Directory.CreateDirectory(target.DirectoryName!);
            var temporary = target.FullName + ".partial";
            File.Copy(source.FullName, temporary, overwrite: true);
            File.SetLastWriteTimeUtc(temporary, source.LastWriteTimeUtc);
            File.Move(temporary, target.FullName, overwrite: true);
        }
        await foreach (var item in store.ListAsync(BlobLayout.Models, prefix, cancellationToken))
        {
            if (!wanted.Contains(item.Name))
                await store.DeleteAsync(BlobLayout.Models, item.Name, cancellationToken);
        }
    }
}
