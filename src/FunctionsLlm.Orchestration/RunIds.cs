using System.Security.Cryptography;
using System.Text;

namespace FunctionsLlm.Orchestration;

/// <summary>Run ids: one per uploaded blob version, so a re-delivered event names the run that already exists.</summary>
public static class RunIds
{
    /// <summary><c>run-</c> + the first 16 hex digits of SHA-256(name, '\n', ETag): a valid instance id, blob segment and job-id prefix.</summary>
    public static string For(string blobName, string etag)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        ArgumentException.ThrowIfNullOrEmpty(etag);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{blobName}\n{etag}"));
        return $"run-{Convert.ToHexStringLower(hash.AsSpan(0, 8))}";
    }

    /// <summary>The trainer job of candidate <paramref name="index"/> (<c>{run}-c{i}</c>, DESIGN.md).</summary>
    public static string Candidate(string runId, int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{runId}-c{index}");

    public static string Merge(string runId) => $"{runId}-merge";

    public static string Evaluate(string runId) => $"{runId}-eval";
}
