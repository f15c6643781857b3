using FunctionsLlm.Core.Storage;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Inference;

/// <summary>
/// The inference app's settings (infra/README.md). It serves either a merged model, <c>FLM_MODEL_NAME</c>
/// (<c>models/{name}/current.json</c>), or a base and the adapters published for it, <c>FLM_BASE_MODEL_PREFIX</c>
/// (<c>models/{prefix}</c> and <c>models/{prefix}adapters/*/current.json</c>; FLM_MODEL_NAME then names the base for
/// clients). Storage: <see cref="StorageSettings"/>; optional <c>FLM_MODEL_CACHE</c>, <c>FLM_POLL_SECONDS</c>,
/// <c>FLM_MAX_CONCURRENCY</c>, <c>FLM_MAX_QUEUE</c>, <c>FLM_BASE_SHA256</c>, <c>FLM_MAX_LORAS</c>, <c>FLM_MAX_LORA_RANK</c>.
/// </summary>
internal sealed record InferenceSettings(ModelFollowerOptions Follower, StorageSettings Storage, AdapterFollowerOptions? Adapters = null)
{
    public static InferenceSettings Read(IConfiguration configuration)
    {
        var problems = new List<string>();
        string? model = configuration["FLM_MODEL_NAME"];
        string? basePrefix = configuration["FLM_BASE_MODEL_PREFIX"] is { Length: > 0 } b ? (b.EndsWith('/') ? b : b + "/") : null;
        if (string.IsNullOrWhiteSpace(model) && basePrefix is null)
        {
            problems.Add("neither FLM_MODEL_NAME (a merged model to serve: models/{FLM_MODEL_NAME}/current.json) nor FLM_BASE_MODEL_PREFIX " +
                "(a base to serve with its published adapters: models/{FLM_BASE_MODEL_PREFIX}) is set");
        }
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
                MaxLoras = Number("FLM_MAX_LORAS", engine.MaxLoras, 0),
                MaxLoraRank = Number("FLM_MAX_LORA_RANK", engine.MaxLoraRank, 1),
            },
        };
        var adapters = basePrefix is null ? null : new AdapterFollowerOptions(basePrefix, options.CacheRoot, string.IsNullOrWhiteSpace(model) ? null : model)
        {
            PollInterval = options.PollInterval,
            Engine = options.Engine,
        };
        if (problems.Count > 0)
            throw new InvalidOperationException($"the inference app is not configured: {string.Join("; ", problems)}");
        return new InferenceSettings(options, storage, adapters);
    }

    public IArtifactStore CreateStore() => Storage.CreateStore();
}
