using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// The body of the trainer's <c>PUT /jobs/{id}</c>. The API is idempotent (same id + same spec → same job), so two
/// specs are equal exactly when their <see cref="ToCanonicalJson"/> is: specs read from equivalent documents (member
/// order, whitespace, number spelling, defaults spelled out or left out) compare equal.
/// <para>
/// Prefixes name folders by container: <see cref="BaseModelPrefix"/> in <see cref="BlobLayout.Models"/>,
/// <see cref="DatasetPrefixes"/> in <see cref="BlobLayout.Datasets"/>, <see cref="AdapterPrefix"/> in
/// <see cref="BlobLayout.Checkpoints"/>, <see cref="ModelPrefix"/> in <see cref="BlobLayout.Models"/>, and
/// <see cref="OutputPrefix"/> in <see cref="OutputContainer"/>.
/// </para>
/// <code>
/// {"kind": "train", "baseModelPrefix": "base/qwen2.5-0.5b/",
///  "datasetPrefixes": {"train": "r1/train.jsonl", "eval": "r1/eval.jsonl"},
///  "hyperparameters": {"loraR": 8, "lr": 1e-4}, "outputPrefix": "r1-c0/"}
/// </code>
/// </summary>
public sealed record TrainingJobSpec : IContract
{
    public required JobKind Kind { get; init; }

    /// <summary>The base model's Hugging Face folder; every kind needs it (merge and evaluate load the base too).</summary>
    public required string BaseModelPrefix { get; init; }

    /// <summary>Train needs <see cref="DatasetPrefixes.Train"/>, evaluate needs <see cref="DatasetPrefixes.Eval"/>.</summary>
    public DatasetPrefixes? DatasetPrefixes { get; init; }

    /// <summary>
    /// The train job's output (a PEFT adapter, or a whole model when it trained every parameter): merge merges it
    /// (required); evaluate only draws its <c>metrics.jsonl</c> as the loss curve (optional); not allowed for train.
    /// </summary>
    public string? AdapterPrefix { get; init; }

    /// <summary>
    /// Evaluate only, and required there: the merged folder the merge job published (<c>{model}/{version}/</c>), so the
    /// report describes the bytes that are served, not a second merge of the adapter.
    /// </summary>
    public string? ModelPrefix { get; init; }

    /// <summary>The train job's settings; merge and evaluate ignore them.</summary>
    public Hyperparameters Hyperparameters { get; init; } = new();

    /// <summary>
    /// Merge only: files to publish beside the merged model (<see cref="ModelExports"/>, e.g. <c>gguf-q8_0</c>), written
    /// into <see cref="OutputPrefix"/> before the model's config.json.
    /// </summary>
    public IReadOnlyList<string>? Exports { get; init; }

    /// <summary>Where the job writes its result, ending with '/'.</summary>
    public required string OutputPrefix { get; init; }

    /// <summary>
    /// The container of <see cref="OutputPrefix"/>: <see cref="BlobLayout.Checkpoints"/> for train (adapter and
    /// checkpoints), <see cref="BlobLayout.Models"/> for merge (the merged folder), <see cref="BlobLayout.Runs"/> for
    /// evaluate (the report).
    /// </summary>
    [JsonIgnore]
    public string OutputContainer => Kind switch
    {
        JobKind.Train => BlobLayout.Checkpoints,
        JobKind.Merge => BlobLayout.Models,
        JobKind.Evaluate => BlobLayout.Runs,
        _ => throw new InvalidOperationException($"Job kind {Kind} is not defined."),
    };

    /// <summary>Reads and validates a spec; throws <see cref="ContractException"/> naming every problem.</summary>
    public static TrainingJobSpec Parse(string json, string? origin = null) => ContractJson.Parse<TrainingJobSpec>(json, origin);

    /// <summary>Reads and validates a spec; on failure <paramref name="error"/> names every problem.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out TrainingJobSpec? spec, [NotNullWhen(false)] out string? error) =>
        ContractJson.TryParse(json, out spec, out error);

    /// <summary>Every problem with the spec (an empty list when the trainer can run it).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.RequireDefined("kind", Kind);
        problems.RequireFolderPrefix("baseModelPrefix", BaseModelPrefix);
        if (DatasetPrefixes?.Train is not null)
            problems.RequireName("datasetPrefixes.train", DatasetPrefixes.Train);
        if (DatasetPrefixes?.Eval is not null)
            problems.RequireName("datasetPrefixes.eval", DatasetPrefixes.Eval);
        switch (Kind)
        {
            case JobKind.Train:
                problems.Require(DatasetPrefixes?.Train is not null, "'datasetPrefixes.train' is required for a train job");
                problems.Require(AdapterPrefix is null, "'adapterPrefix' is only for merge and evaluate jobs");
                break;
            case JobKind.Merge:
                problems.Require(AdapterPrefix is not null, "'adapterPrefix' is required for a merge job");
                break;
            case JobKind.Evaluate:
                problems.Require(ModelPrefix is not null, "'modelPrefix' (the merged model the merge job published) is required for an evaluate job");
                problems.Require(DatasetPrefixes?.Eval is not null, "'datasetPrefixes.eval' is required for an evaluate job");
                break;
        }
        if (Kind != JobKind.Evaluate)
            problems.Require(ModelPrefix is null, "'modelPrefix' is only for evaluate jobs");
        if (Exports is not null)
        {
            problems.Require(Kind == JobKind.Merge, "'exports' is only for merge jobs");
            problems.AddRange(Exports.Where(e => !ModelExports.IsKnown(e ?? ""))
                .Select(e => $"'exports' has an unknown export '{e}'; known: {string.Join(", ", ModelExports.Known)}"));
        }
        if (AdapterPrefix is not null)
            problems.RequireFolderPrefix("adapterPrefix", AdapterPrefix);
        if (ModelPrefix is not null)
            problems.RequireFolderPrefix("modelPrefix", ModelPrefix);
        if (Hyperparameters is null)
            problems.Add("'hyperparameters' must be an object (leave it out for the defaults)");
        else
            Hyperparameters.AddProblems(problems, at: "hyperparameters.");
        problems.RequireFolderPrefix("outputPrefix", OutputPrefix);
        return problems;
    }

    /// <summary>See <see cref="ContractJson.ToCanonicalJson{T}"/>.</summary>
    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);

    public bool Equals(TrainingJobSpec? other) =>
        other is not null && (ReferenceEquals(this, other) || ToCanonicalJson() == other.ToCanonicalJson());

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToCanonicalJson());
}
