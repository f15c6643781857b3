using FunctionsLlm.Core.Storage;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Inference;

/// <summary>
/// The inference app's settings (infra/README.md): <c>FLM_MODEL_NAME</c>; storage: <see cref="StorageSettings"/>; optional <c>FLM_MODEL_CACHE</c>, <c>FLM_POLL_SECONDS</c>, <c>FLM_MAX_CONCURRENCY</c>, <c>FLM_MAX_QUEUE</c>,
/// <c>FLM_BASE_SHA256</c>.
/// </summary>
internal sealed record InferenceSettings(ModelFollowerOptions Follower, StorageSettings Storage)
{
    public static InferenceSettings Read(IConfiguration configuration)
    {
        var problems = new List<string>();
        string? model = configuration["FLM_MODEL_NAME"];
        if (string.IsNullOrWhiteSpace(model))
            problems.Add("FLM_MODEL_NAME is not set (the model to serve: models/{FLM_MODEL_NAME}/current.json)");
        var storage = StorageSettings.Read(name => configuration[name], problems);
        int Number(string name, int fallback, int min)
        {
            if (configuration[name] is not { Length: > 0 } text)
                return fallback;
            if (int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= min)
                return value;
            problems.Add($"{name} must be an integer ≥ {min}, got '{text}'");
            return fallback;
        }
        var engine = new EngineOptions();
        var options = new ModelFollowerOptions(model ?? "", configuration["FLM_MODEL_CACHE"] is { Length: > 0 } cache ? cache : Path.Combine(Path.GetTempPath(), "flm-models"),
            configuration["FLM_BASE_SHA256"] is { Length: > 0 } sha ? sha : null)
        {
            PollInterval = TimeSpan.FromSeconds(Number("FLM_POLL_SECONDS", 30, 1)),
            Engine = engine with
            {
                MaxConcurrentSequences = Number("FLM_MAX_CONCURRENCY", engine.MaxConcurrentSequences, 1),
                MaxQueuedRequests = Number("FLM_MAX_QUEUE", engine.MaxQueuedRequests, 0),
            },
        };
        if (problems.Count > 0)
            throw new InvalidOperationException($"the inference app is not configured: {string.Join("; ", problems)}");
        return new InferenceSettings(options, storage);
    }

    public IArtifactStore CreateStore() => Storage.CreateStore();
}
