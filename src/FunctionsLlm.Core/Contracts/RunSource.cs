using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>The upload a run was started for: the blob and the ETag of the version read (the run id derives from them).</summary>
public sealed record RunSource
{
    public required string Container { get; init; }

    public required string Name { get; init; }

    /// <summary>The ETag of the upload (<c>etag</c> in JSON), as <see cref="Storage.ArtifactInfo.ETag"/> gives it.</summary>
    [JsonPropertyName("etag")]
    public required string ETag { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.RequireText($"{at}container", Container);
        problems.RequireText($"{at}name", Name);
        problems.RequireText($"{at}etag", ETag);
    }
}
