using System.Globalization;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Pipeline;

/// <summary>
/// The pipeline app's settings (infra/README.md): <c>FLM_TRAINER_URL</c>; how it authenticates to the trainer, at most
/// one of <c>FLM_TRAINER_AUTH_AUDIENCE</c> (Entra ID access tokens of the app's managed identity) and
/// <c>FLM_TRAINER_API_KEY</c> (a shared key); <c>FLM_MODEL_NAME</c>, <c>FLM_BASE_MODEL_PREFIX</c> (the base model's
/// folder in <c>models</c>, default <c>base/</c>); storage: <see cref="StorageSettings"/>; pacing by
/// <c>FLM_POLL_SECONDS</c> (30), <c>FLM_RUN_TIMEOUT_HOURS</c> (24), <c>FLM_TRAINER_ATTEMPTS</c> (6).
/// </summary>
public sealed record PipelineSettings
{
    public required Uri TrainerUrl { get; init; }

    /// <summary><c>FLM_TRAINER_API_KEY</c>: the trainer's shared key, sent as the bearer token (the fallback where no app registration can be made).</summary>
    public string? TrainerApiKey { get; init; }

    /// <summary>
    /// <c>FLM_TRAINER_AUTH_AUDIENCE</c>: the trainer app registration's client id or application ID URI (<c>api://…</c>),
    /// as the trainer's own <c>FLM_TRAINER_AUTH_AUDIENCE</c>. When set, every call carries an access token for
    /// <see cref="TrainerTokenScope"/> from the app's managed identity (<c>AZURE_CLIENT_ID</c>).
    /// </summary>
    public string? TrainerAuthAudience { get; init; }

    /// <summary><c>{audience}/.default</c>, what an app (not a user) asks for: a token for the whole registration.</summary>
    public string? TrainerTokenScope => TrainerAuthAudience is { } audience ? $"{audience.TrimEnd('/')}/.default" : null;

    public required string ModelName { get; init; }

    public string BaseModelPrefix { get; init; } = "base/";

    /// <summary><c>chat</c> (the model's chat template) or <c>seed</c>.</summary>
    public string Template { get; init; } = "chat";

    /// <summary>What a run publishes when its sidecar does not say (<c>FLM_PUBLISH</c>: merged, adapter or both).</summary>
    public PublishMode Publish { get; init; } = PublishMode.Merged;

    /// <summary>Files a run publishes beside the merged model when its sidecar does not say (<c>FLM_EXPORT</c>, comma-separated: gguf-q8_0, …).</summary>
    public IReadOnlyList<string> Exports { get; init; } = [];

    public RunTiming Timing { get; init; } = new();

    public StorageSettings Storage { get; init; } = new();

    public static PipelineSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        Uri? trainer = null;
        if (configuration["FLM_TRAINER_URL"] is not { Length: > 0 } url)
            problems.Add("FLM_TRAINER_URL is not set (the trainer app's base address)");
        else if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out trainer))
            problems.Add($"FLM_TRAINER_URL '{url}' is not an absolute URL");
        var model = configuration["FLM_MODEL_NAME"];
        if (string.IsNullOrWhiteSpace(model))
            problems.Add("FLM_MODEL_NAME is not set (the model to publish: models/{FLM_MODEL_NAME}/current.json)");
        var apiKey = configuration["FLM_TRAINER_API_KEY"] is { Length: > 0 } key ? key : null;
        var audience = configuration["FLM_TRAINER_AUTH_AUDIENCE"] is { } a && !string.IsNullOrWhiteSpace(a) ? a.Trim() : null;
        if (audience is not null && apiKey is not null)
            problems.Add("set only one of FLM_TRAINER_AUTH_AUDIENCE (Entra ID tokens of the app's managed identity) and FLM_TRAINER_API_KEY (a shared key)");
        if (audience is not null && !IsAudience(audience))
            problems.Add("FLM_TRAINER_AUTH_AUDIENCE must be the trainer app registration's client id (a GUID) or application ID URI " +
                $"(api://…), without /.default; got '{audience}'");
        var storage = StorageSettings.Read(name => configuration[name], problems);
        int Number(string name, int fallback, int min)
        {
            if (configuration[name] is not { Length: > 0 } text)
                return fallback;
            if (int.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= min)
                return value;
            problems.Add($"{name} must be an integer ≥ {min}, got '{text}'");
            return fallback;
        }
        var timing = new RunTiming
        {
            PollInterval = TimeSpan.FromSeconds(Number("FLM_POLL_SECONDS", 30, 1)),
            Timeout = TimeSpan.FromHours(Number("FLM_RUN_TIMEOUT_HOURS", 24, 1)),
            TrainerAttempts = Number("FLM_TRAINER_ATTEMPTS", 6, 1),
        };
        var publish = PublishMode.Merged;
        if (configuration["FLM_PUBLISH"] is { Length: > 0 } publishText && !PublishModes.TryParse(publishText, out publish))
            problems.Add($"FLM_PUBLISH must be merged, adapter or both, got '{publishText}'");
        var exports = ModelExports.TryParseList(configuration["FLM_EXPORT"], out var exportProblem);
        if (exportProblem is not null)
            problems.Add($"FLM_EXPORT: {exportProblem}");
        var basePrefix = configuration["FLM_BASE_MODEL_PREFIX"] is { Length: > 0 } b ? (b.EndsWith('/') ? b : b + "/") : "base/";
        if (problems.Count > 0)
            throw new InvalidOperationException($"the pipeline app is not configured: {string.Join("; ", problems)}");
        return new PipelineSettings
        {
            TrainerUrl = trainer!,
            TrainerApiKey = apiKey,
            TrainerAuthAudience = audience,
            ModelName = model!,
            BaseModelPrefix = basePrefix,
            Template = configuration["FLM_TEMPLATE"] is { Length: > 0 } t ? t : "chat",
            Publish = publish,
            Exports = exports ?? [],
            Timing = timing,
            Storage = storage,
        };
    }

    /// <summary>What a run uses when its upload has no sidecar.</summary>
    public RunDefaults Defaults => new(BaseModelPrefix, ModelName, Template, Publish, Exports);

    public IArtifactStore CreateStore() => Storage.CreateStore();

    /// <summary>Everything but the API key's value: the generated record ToString would print it.</summary>
    public override string ToString() =>
        $"PipelineSettings {{ TrainerUrl = {TrainerUrl}, TrainerAuth = {(TrainerAuthAudience is { } a ? $"Entra ID ({a})" : TrainerApiKey is null ? "none" : "API key")}, " +
        $"ModelName = {ModelName}, BaseModelPrefix = {BaseModelPrefix}, Template = {Template}, Publish = {Publish}, Exports = [{string.Join(", ", Exports)}], Timing = {Timing}, Storage = {Storage} }}";

    private static bool IsAudience(string audience) =>
        !audience.TrimEnd('/').EndsWith("/.default", StringComparison.OrdinalIgnoreCase)
        && (Guid.TryParse(audience, out _) || Uri.TryCreate(audience, UriKind.Absolute, out _));
}
