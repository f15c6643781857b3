using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>What a trainer job does (<c>"train"</c>, <c>"merge"</c>, <c>"evaluate"</c> in JSON). 0 means "missing".</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobKind>))]
public enum JobKind
{
    /// <summary>Fine-tune the base model on the datasets; the output is an adapter (or a full model).</summary>
    Train = 1,

    /// <summary>Merge an adapter into the base model; the output is a Hugging Face model folder.</summary>
    Merge = 2,

    /// <summary>Compare the base and the fine-tuned model on the eval set; the output is a report.</summary>
    Evaluate = 3,
}
