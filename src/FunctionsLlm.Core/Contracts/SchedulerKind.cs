using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>The learning-rate schedule after warmup (<c>cosine|linear|constant</c> in JSON, as <c>flm train --scheduler</c>).</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<SchedulerKind>))]
public enum SchedulerKind
{
    Cosine = 1,
    Linear = 2,
    Constant = 3,
}
