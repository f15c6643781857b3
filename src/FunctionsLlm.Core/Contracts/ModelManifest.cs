using System.Diagnostics.CodeAnalysis;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// <c>models/{model}/current.json</c> (<see cref="BlobLayout.Model.Current"/>): the merged model version the inference
/// app serves. Publish writes it after every file under <see cref="MergedPrefix"/>, so a reader that sees a version
/// finds the whole folder; versions are immutable (a new model is a new version).
/// <code>
/// {"version": "r20250101-ab12", "mergedPrefix": "support-bot/r20250101-ab12/", "baseModel": "Qwen/Qwen2.5-0.5B-Instruct",
///  "baseSha256": "…64 hex…", "chatTemplate": "{% for m in messages %}…", "createdAt": "2025-01-01T12:00:00+00:00", "evalLoss": 1.23}
/// </code>
/// </summary>
public sealed record ModelManifest : IContract
{
    /// <summary>The version's name; also the local cache folder's name, so one path segment (no '/', no leading '.').</summary>
    public required string Version { get; init; }

    /// <summary>Prefix in the <see cref="BlobLayout.Models"/> container of the merged Hugging Face folder, ending with '/'.</summary>
    public required string MergedPrefix { get; init; }

    /// <summary>The base model the adapter was trained on (a Hub id or a prefix), for provenance; null when unknown.</summary>
    public string? BaseModel { get; init; }

    /// <summary>The base model folder's <see cref="Models.DirectoryFingerprint"/> (64 lowercase hex digits); null when unknown.</summary>
    public string? BaseSha256 { get; init; }

    /// <summary>The merged folder's <see cref="Models.DirectoryFingerprint"/>: what the evaluate job evaluated; null when unknown.</summary>
    public string? MergedSha256 { get; init; }

    /// <summary>The Jinja chat template to serve with; null means the one in the folder's tokenizer_config.json.</summary>
    public string? ChatTemplate { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The winning candidate's eval loss; null when it had no eval set.</summary>
    public double? EvalLoss { get; init; }

    /// <summary>Reads and validates a manifest; throws <see cref="ContractException"/> naming every problem.</summary>
    public static ModelManifest Parse(string json, string? origin = null) => ContractJson.Parse<ModelManifest>(json, origin);

    /// <summary>Reads and validates a manifest; on failure <paramref name="error"/> names every problem.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out ModelManifest? manifest, [NotNullWhen(false)] out string? error) =>
        ContractJson.TryParse(json, out manifest, out error);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.RequireSegment("version", Version);
        problems.RequireFolderPrefix("mergedPrefix", MergedPrefix);
        problems.RequireSha256("baseSha256", BaseSha256);
        problems.RequireSha256("mergedSha256", MergedSha256);
        problems.RequireTime("createdAt", CreatedAt);
        problems.RequireFinite("evalLoss", EvalLoss, min: 0);
        return problems;
    }

    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);
}
