using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// Why a trainer job failed, for callers to act on without reading the message (<c>parity_gate</c>,
/// <c>out_of_memory</c>, … in JSON). 0 means "missing" (a trainer that predates the field).
/// </summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobErrorCode>))]
public enum JobErrorCode
{
    /// <summary>The merge's parity gate refused: the merged weights do not reproduce base + adapter.</summary>
    ParityGate = 1,
    MergeFailed = 2,
    OutOfMemory = 3,
    InputMissing = 4,
    CorruptTrainingData = 5,
    EvaluationFailed = 6,
    InvalidJob = 7,
    UnreadableInput = 8,
    Internal = 9,

    /// <summary>A merge job's export (<see cref="TrainingJobSpec.Exports"/>) could not be written; the message says why.</summary>
    ExportFailed = 10,
}
