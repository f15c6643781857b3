using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Trainer.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Trainer.Api;

/// <summary>
/// The trainer's HTTP API (DESIGN.md "Contracts"): <c>PUT|GET|DELETE /jobs/{id}</c>, liveness <c>/health</c> and
/// <c>/healthz</c>, readiness <c>/ready</c> and <c>/readyz</c> (the probe paths of bicep/modules/trainerApp.bicep).
/// Bodies are <see cref="JobStatus"/> documents; errors are <c>{"error": {"message", "code", …}}</c>.
/// </summary>
public static class JobsApi
{
    /// <summary>A spec is a few hundred bytes; anything near this is not one.</summary>
    public const int MaxSpecBytes = 64 * 1024;

    public static readonly string[] AnonymousPaths = ["/health", "/healthz", "/ready", "/readyz"];

    /// <summary>
    /// Unexpected exceptions as JSON errors: storage that cannot be reached → 503 (retry), anything else → 500, each with
    /// its message, never an empty body.
    /// </summary>
    public static IApplicationBuilder UseJsonErrors(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        try
        {
            await next(http);
        }
        catch (Exception e) when (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
        {
            bool storage = e is Azure.RequestFailedException or IOException or HttpRequestException or Azure.Identity.AuthenticationFailedException;
            http.Response.Clear();
            await Error(storage ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError,
                storage ? $"storage is not available, retry later: {e.Message}" : $"internal error: {e.GetType().Name}: {e.Message}",
                storage ? "storage_unavailable" : "internal_error").ExecuteAsync(http);
        }
    });

    public static IEndpointRouteBuilder MapTrainerApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/jobs/{id}", PutAsync);
        app.MapGet("/jobs/{id}", GetAsync);
        app.MapDelete("/jobs/{id}", DeleteAsync);
        foreach (string path in new[] { "/health", "/healthz" })
            app.MapGet(path, () => Results.Json(new { status = "alive" }));
        foreach (string path in new[] { "/ready", "/readyz" })
            app.MapGet(path, ReadyAsync);
        return app;
    }

    private static async Task<IResult> PutAsync(string id, HttpRequest request, JobRegistry jobs, CancellationToken cancellationToken)
    {
        if (!JobRegistry.IsValidId(id))
            return InvalidId(id);
        if (request.ContentLength > MaxSpecBytes)
            return Error(StatusCodes.Status413PayloadTooLarge, $"the body is over {MaxSpecBytes} bytes; a TrainingJobSpec is much smaller", "body_too_large");
        string body;
        // Strict UTF-8: a bad byte is refused, not turned into U+FFFD inside a prefix the job would then use.
        using (var reader = new StreamReader(request.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true)))
        {
            var buffer = new char[MaxSpecBytes + 1];
            int read;
            try
            {
                read = await reader.ReadBlockAsync(buffer, cancellationToken);
            }
            catch (DecoderFallbackException)
            {
                return Error(StatusCodes.Status400BadRequest, "the body is not valid UTF-8", "invalid_spec");
            }
            if (read > MaxSpecBytes)
                return Error(StatusCodes.Status413PayloadTooLarge, $"the body is over {MaxSpecBytes} bytes; a TrainingJobSpec is much smaller", "body_too_large");
            body = new string(buffer, 0, read);
        }
        TrainingJobSpec spec;
        try
        {
            spec = TrainingJobSpec.Parse(body);
        }
        catch (ContractException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message, "invalid_spec", new JsonArray([.. e.Problems.Select(p => (JsonNode)p)]));
        }
        var (job, outcome) = await jobs.PutAsync(id, spec, cancellationToken);
        return outcome switch
        {
            PutOutcome.Created => Status(StatusCodes.Status201Created, job.Status, location: $"/jobs/{id}"),
            PutOutcome.Existing => Status(StatusCodes.Status200OK, job.Status),
            _ => Error(StatusCodes.Status409Conflict,
                $"job '{id}' already exists with another spec; PUT the same spec again, or use a new id for a new job", "job_conflict",
                JsonNode.Parse(job.Spec.ToCanonicalJson()), "existingSpec"),
        };
    }

    private static async Task<IResult> GetAsync(string id, JobRegistry jobs, CancellationToken cancellationToken)
    {
        if (!JobRegistry.IsValidId(id))
            return InvalidId(id);
        return await jobs.GetAsync(id, cancellationToken) is { } job ? Status(StatusCodes.Status200OK, job.Status) : NotFound(id);
    }

    private static async Task<IResult> DeleteAsync(string id, JobRegistry jobs, CancellationToken cancellationToken)
    {
        if (!JobRegistry.IsValidId(id))
            return InvalidId(id);
        if (await jobs.CancelAsync(id, cancellationToken) is not { } job)
            return NotFound(id);
        // Running (here or on another replica): it stops at the next step after writing a checkpoint; poll GET until the state is cancelled.
        return Status(job.Status.State == JobState.Running ? StatusCodes.Status202Accepted : StatusCodes.Status200OK, job.Status);
    }

    private static async Task<IResult> ReadyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var services = http.RequestServices;
        var problems = new List<string>();
        if (!services.GetRequiredService<JobRunner>().Recovered)
            problems.Add("unfinished jobs are still being read from the store");
        try
        {
            await services.GetRequiredService<IArtifactStore>().GetInfoAsync(BlobLayout.Checkpoints, JobRegistry.ActivePrefix + "ready-probe", cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            problems.Add($"storage is not reachable: {e.Message}");
        }
        string cache = services.GetRequiredService<TrainerSettings>().CacheFolder;
        try
        {
            Directory.CreateDirectory(cache);
            string probe = Path.Combine(cache, $".ready-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(probe, "ok", cancellationToken);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"the cache folder {cache} is not writable: {e.Message}");
        }
        if (problems.Count > 0)
            return Error(StatusCodes.Status503ServiceUnavailable, $"not ready: {string.Join("; ", problems)}", "not_ready");
        var jobs = services.GetRequiredService<JobRegistry>();
        return Results.Json(new { status = "ready", queued = jobs.Count(JobState.Queued), running = jobs.Count(JobState.Running) });
    }

    private static IResult Status(int code, JobStatus status, string? location = null)
    {
        var result = Results.Text(JsonSerializer.Serialize(status, JsonDefaults.Compact), "application/json", Encoding.UTF8, code);
        return location is null ? result : new WithLocation(result, location);
    }

    private static IResult NotFound(string id) =>
        Error(StatusCodes.Status404NotFound, $"no job '{id}': create it with PUT /jobs/{id}", "job_not_found");

    private static IResult InvalidId(string id) =>
        Error(StatusCodes.Status400BadRequest, $"'{id}' is not a job id: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", "invalid_job_id");

    /// <summary><c>{"error": {"message", "code", extra?}}</c>.</summary>
    public static IResult Error(int status, string message, string code, JsonNode? extra = null, string extraName = "problems")
    {
        var error = new JsonObject { ["message"] = message, ["code"] = code };
        if (extra is not null)
            error[extraName] = extra;
        return Results.Text(new JsonObject { ["error"] = error }.ToJsonString(JsonDefaults.Compact), "application/json", Encoding.UTF8, status);
    }

    private sealed class WithLocation(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
