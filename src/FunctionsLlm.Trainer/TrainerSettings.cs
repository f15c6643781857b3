using System.Globalization;
using FunctionsLlm.Core.Storage;
using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Trainer;

/// <summary>
/// The trainer app's settings (environment variables, see README "The trainer app"). Storage: <see cref="StorageSettings"/>.
/// Callers: <c>FLM_TRAINER_API_KEY</c> (a shared secret) and/or Entra ID tokens
/// (<c>FLM_TRAINER_AUTH_TENANT_ID</c> + <c>FLM_TRAINER_AUTH_AUDIENCE</c>, optionally only from
/// <c>FLM_TRAINER_AUTH_ALLOWED_CALLERS</c>; signed by the keys of <c>FLM_TRAINER_AUTH_AUTHORITY</c>, by default the
/// tenant's Entra ID v2.0 endpoint). Runner: <c>FLM_TRAINER_CACHE</c>,
/// <c>FLM_TRAINER_MAX_CONCURRENT_JOBS</c>, <c>FLM_TRAINER_PROGRESS_SECONDS</c>, <c>FLM_TRAINER_LEASE_SECONDS</c>; train jobs:
/// <c>FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS</c>; evaluate jobs:
/// <c>FLM_EVAL_MAX_TOKENS</c>, <c>FLM_EVAL_BATCH_SIZE</c>, <c>FLM_EVAL_LIMIT</c>.
/// </summary>
public sealed record TrainerSettings
{
    public StorageSettings Storage { get; init; } = new();

    /// <summary>Local copies of inputs and the jobs' working folders.</summary>
    public required string CacheFolder { get; init; }

    public string? ApiKey { get; init; }

    public string? EntraTenantId { get; init; }

    public string? EntraAudience { get; init; }

    /// <summary>
    /// <c>FLM_TRAINER_AUTH_AUTHORITY</c>: the OpenID Connect authority whose metadata and keys sign the tokens; unset,
    /// <see cref="EntraAuthorityAddress"/> is the tenant's Entra ID v2.0 endpoint. Another cloud's login host, or a local
    /// issuer on a loopback address (the only place plain http is allowed).
    /// </summary>
    public string? EntraAuthority { get; init; }

    public string EntraAuthorityAddress => EntraAuthority ?? $"https://login.microsoftonline.com/{EntraTenantId}/v2.0";

    /// <summary>Client (application) or object ids whose Entra tokens are accepted; empty accepts any caller of the tenant.</summary>
    public IReadOnlyList<string> EntraAllowedCallers { get; init; } = [];

    /// <summary>Jobs run at once (1 on a single GPU); 0 accepts jobs but starts none (maintenance).</summary>
    public int MaxConcurrentJobs { get; init; } = 1;

    /// <summary>Progress is written to the job's job.json at most this often (state changes are written at once).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A running job's lease on its active marker (15 to 60 s): renewed every third of it; when its replica dies, another
    /// takes the job over after at most this long.
    /// </summary>
    public TimeSpan JobLease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS</c>: a train job that leaves <c>hyperparameters.quantize</c> unset holds its
    /// base in NF4 (QLoRA) when the base has more parameters than this; 0 (the default): never. The dev (T4) deployment sets 3e9.
    /// </summary>
    public long QuantizeAboveParameters { get; init; }

    /// <summary>How often an idle runner looks for queued jobs and jobs whose owner died, and a running job's lease is renewed.</summary>
    public TimeSpan LeaseTick => JobLease / 3;

    public int EvalMaxTokens { get; init; } = 200;

    public int EvalBatchSize { get; init; } = 8;

    public int? EvalLimit { get; init; }

    public bool EntraEnabled => EntraTenantId is { Length: > 0 } && EntraAudience is { Length: > 0 };

    /// <summary>Reads and checks every setting; throws naming every problem.</summary>
    public static TrainerSettings Read(IConfiguration configuration)
    {
        var problems = new List<string>();
        string? Text(string name) => configuration[name] is { Length: > 0 } value ? value.Trim() : null;
        int Number(string name, int fallback, int min)
        {
            if (Text(name) is not { } text)
                return fallback;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min)
                return value;
            problems.Add($"{name} must be an integer ≥ {min}, got '{text}'");
            return fallback;
        }

        long Count(string name)
        {
            if (Text(name) is not { } text)
                return 0;
            // 3000000000 or 3e9
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0 && value <= long.MaxValue && value == Math.Floor(value))
                return (long)value;
            problems.Add($"{name} must be a whole number of parameters ≥ 0 (e.g. 3000000000 or 3e9), got '{text}'");
            return 0;
        }

        var settings = new TrainerSettings
        {
            Storage = StorageSettings.Read(Text, problems),
            CacheFolder = Path.GetFullPath(Text("FLM_TRAINER_CACHE") ?? Path.Combine(Path.GetTempPath(), "flm-trainer")),
            ApiKey = Text("FLM_TRAINER_API_KEY"),
            EntraTenantId = Text("FLM_TRAINER_AUTH_TENANT_ID"),
            EntraAudience = Text("FLM_TRAINER_AUTH_AUDIENCE"),
            EntraAuthority = Text("FLM_TRAINER_AUTH_AUTHORITY"),
            EntraAllowedCallers = Text("FLM_TRAINER_AUTH_ALLOWED_CALLERS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
            MaxConcurrentJobs = Number("FLM_TRAINER_MAX_CONCURRENT_JOBS", 1, 0),
            ProgressInterval = TimeSpan.FromSeconds(Number("FLM_TRAINER_PROGRESS_SECONDS", 5, 0)),
            JobLease = TimeSpan.FromSeconds(Number("FLM_TRAINER_LEASE_SECONDS", 30, 15)),
            EvalMaxTokens = Number("FLM_EVAL_MAX_TOKENS", 200, 1),
            EvalBatchSize = Number("FLM_EVAL_BATCH_SIZE", 8, 1),
            EvalLimit = Text("FLM_EVAL_LIMIT") is null ? null : Number("FLM_EVAL_LIMIT", 1, 1),
            QuantizeAboveParameters = Count("FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS"),
        };
        if (settings.JobLease > ArtifactLease.MaxDuration)
            problems.Add($"FLM_TRAINER_LEASE_SECONDS must be at most {ArtifactLease.MaxDuration.TotalSeconds:0} (Blob Storage's longest lease), got '{Text("FLM_TRAINER_LEASE_SECONDS")}'");
        if ((settings.EntraTenantId is null) != (settings.EntraAudience is null))
            problems.Add("Entra ID tokens need both FLM_TRAINER_AUTH_TENANT_ID and FLM_TRAINER_AUTH_AUDIENCE");
        if (settings.EntraAuthority is { } authority)
        {
            if (!settings.EntraEnabled)
                problems.Add("FLM_TRAINER_AUTH_AUTHORITY needs FLM_TRAINER_AUTH_TENANT_ID and FLM_TRAINER_AUTH_AUDIENCE");
            if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || !(uri.Scheme == Uri.UriSchemeHttps || IsLoopbackHttp(uri)))
                problems.Add($"FLM_TRAINER_AUTH_AUTHORITY must be an https:// URL (http:// only on a loopback address), got '{authority}'");
        }
        if (problems.Count > 0)
            throw new InvalidOperationException($"the trainer app is not configured: {string.Join("; ", problems)}");
        return settings;
    }

    public IArtifactStore CreateStore() => Storage.CreateStore();

    /// <summary>A local token issuer (tests, development): its metadata may come over plain http.</summary>
    internal static bool IsLoopbackHttp(Uri uri) => uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
}
