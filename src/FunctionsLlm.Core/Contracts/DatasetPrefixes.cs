namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// Where a job's records are, as names in the <see cref="BlobLayout.Datasets"/> container: normally the files Format
/// writes, <see cref="BlobLayout.Dataset.Train"/> and <see cref="BlobLayout.Dataset.Eval"/>.
/// </summary>
public sealed record DatasetPrefixes
{
    /// <summary>The training records (chat-templated JSONL); required for a train job.</summary>
    public string? Train { get; init; }

    /// <summary>The eval records; required for an evaluate job, optional for a train job (no eval loss without it).</summary>
    public string? Eval { get; init; }
}
