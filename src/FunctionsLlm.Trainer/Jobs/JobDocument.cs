using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// <c>checkpoints/{id}/job.json</c>: <c>{"spec": TrainingJobSpec, "status": JobStatus}</c>, the job's state in the
/// store, so that a restarted trainer (or another replica) knows every job. Both halves are read through their
/// contracts' validating parsers.
/// </summary>
public static class JobDocument
{
    public const string FileName = "job.json";

    /// <summary>Name in <see cref="BlobLayout.Checkpoints"/>.</summary>
    public static string NameOf(string jobId) => BlobLayout.Checkpoint.Prefix(jobId) + FileName;

    public static string Write(TrainingJobSpec spec, JobStatus status)
    {
        var document = new JsonObject
        {
            ["spec"] = JsonNode.Parse(JsonSerializer.Serialize(spec, JsonDefaults.Compact)),
            ["status"] = JsonNode.Parse(JsonSerializer.Serialize(status, JsonDefaults.Compact)),
        };
        return document.ToJsonString(JsonDefaults.Indented);
    }

    public static (TrainingJobSpec Spec, JobStatus Status) Read(string json, string origin)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{origin}: not valid JSON: {e.Message}", e);
        }
        if (root?["spec"] is not JsonObject spec || root["status"] is not JsonObject status)
            throw new InvalidDataException($"{origin}: a job document needs 'spec' and 'status' objects");
        return (TrainingJobSpec.Parse(spec.ToJsonString(), $"{origin} (spec)"), JobStatus.Parse(status.ToJsonString(), $"{origin} (status)"));
    }
}
