using System.Diagnostics.CodeAnalysis;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// <c>models/{base}/adapters/{name}/current.json</c> (<see cref="BlobLayout.Model.AdapterCurrent"/>): the adapter version
/// an inference app serving that base serves as <c>model: {name}</c>, unmerged. Publish writes it after the files under
/// <see cref="AdapterPrefix"/> (PEFT's adapter_config.json and adapter_model.safetensors); versions are immutable.
/// <code>
/// {"version": "r20250101-ab12", "adapterPrefix": "base/adapters/support-bot/r20250101-ab12/", "baseModel": "base/",
///  "baseSha256": "…64 hex…", "createdAt": "2025-01-01T12:00:00+00:00", "evalLoss": 1.23}
/// </code>
/// </summary>
public sealed record AdapterManifest : IContract
{
    /// <summary>The version's name; also the local cache folder's name, so one path segment.</summary>
    public required string Version { get; init; }

    /// <summary>Prefix in the <see cref="BlobLayout.Models"/> container of the adapter folder, ending with '/'.</summary>
    public required string AdapterPrefix { get; init; }

    /// <summary>The base model's prefix in <see cref="BlobLayout.Models"/>, for provenance.</summary>
    public string? BaseModel { get; init; }

    /// <summary>
    /// The <see cref="Models.DirectoryFingerprint"/> of the base the adapter was trained on: an app serving another base
    /// refuses the adapter, as it refuses a merged version trained on another base.
    /// </summary>
    public required string BaseSha256 { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The winning candidate's eval loss; null when it had no eval set.</summary>
    public double? EvalLoss { get; init; }

    public static AdapterManifest Parse(string json, string? origin = null) => ContractJson.Parse<AdapterManifest>(json, origin);

    public static bool TryParse(string json, [NotNullWhen(true)] out AdapterManifest? manifest, [NotNullWhen(false)] out string? error) =>
        ContractJson.TryParse(json, out manifest, out error);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.RequireSegment("version", Version);
        problems.RequireFolderPrefix("adapterPrefix", AdapterPrefix);
        problems.RequireText("baseSha256", BaseSha256);
        problems.RequireSha256("baseSha256", BaseSha256);
        problems.RequireTime("createdAt", CreatedAt);
        problems.RequireFinite("evalLoss", EvalLoss, min: 0);
        return problems;
    }

    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);
}
