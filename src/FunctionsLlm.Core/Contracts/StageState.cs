using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>A pipeline stage's state in a run summary (<c>pending|running|succeeded|failed|skipped</c>). 0 means "missing".</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<StageState>))]
public enum StageState
{
    Pending = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,

    /// <summary>Not run, e.g. evaluate when no candidate succeeded.</summary>
    Skipped = 5,
}
