using System.Collections.Concurrent;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Orchestration.Tests;

/// <summary>How a scripted job ends: after <see cref="Polls"/> GETs it reaches <see cref="End"/>.</summary>
/// <param name="ModelSha256">What a merge or evaluate job reports as the fine-tuned folder's fingerprint.</param>
internal sealed record JobScript(JobState End = JobState.Succeeded, int Polls = 1, double? EvalLoss = 1.0, string? Error = null,
    string? ModelSha256 = null, JobErrorCode? ErrorCode = null)
{
    public static JobScript Never { get; } = new(JobState.Succeeded, int.MaxValue);
}

/// <summary>
/// A trainer <c>/jobs</c> API on Kestrel (127.0.0.1, a free port) with scripted outcomes: <see cref="Script"/> decides
/// how each job ends, <see cref="Unavailable"/> answers the next N calls with 503 (the trainer down). Succeeded merge jobs
/// write a merged folder into the store, as the real trainer does.
/// </summary>
internal sealed class FakeTrainer : IAsyncDisposable
{
    public const string ApiKey = "test-key";

    /// <summary>What merge jobs report as the base model's fingerprint.</summary>
    public static readonly string BaseSha256 = new('b', 64);

    /// <summary>What merge and evaluate jobs report as the merged folder's fingerprint, unless scripted otherwise.</summary>
    public static readonly string MergedSha256 = new('c', 64);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private int _unavailable;

    private FakeTrainer(WebApplication app, IArtifactStore store)
    {
        _app = app;
        Store = store;
    }

    public IArtifactStore Store { get; }

    public Uri Url { get; private set; } = null!;

    public Func<string, TrainingJobSpec, JobScript> Script { get; set; } = (_, _) => new JobScript();

    /// <summary>Calls answered 503 from now on (decremented per call).</summary>
    public int Unavailable
    {
        get => Volatile.Read(ref _unavailable);
        set => Volatile.Write(ref _unavailable, value);
    }

    /// <summary>The bearer token callers must send (the API key unless a test says otherwise).</summary>
    public string BearerToken { get; set; } = ApiKey;

    public ConcurrentQueue<string> Calls { get; } = new();

    public ConcurrentQueue<string> Cancelled { get; } = new();

    public TrainingJobSpec? SpecOf(string id) => _jobs.TryGetValue(id, out var job) ? job.Spec : null;

    public IReadOnlyCollection<string> JobIds => [.. _jobs.Keys];

    public static async Task<FakeTrainer> StartAsync(IArtifactStore store)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeTrainer(app, store);
        app.MapPut("/jobs/{id}", fake.Put);
        app.MapGet("/jobs/{id}", fake.Get);
        app.MapDelete("/jobs/{id}", fake.Delete);
        await app.StartAsync();
        fake.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return fake;
    }

    private async Task<IResult> Put(string id, HttpRequest request)
    {
        if (Refuse(request, $"PUT {id}") is { } refused)
            return refused;
        using var reader = new StreamReader(request.Body);
        var spec = TrainingJobSpec.Parse(await reader.ReadToEndAsync());
        var job = _jobs.GetOrAdd(id, _ => new Job(id, spec, Script(id, spec), DateTimeOffset.UtcNow));
        if (!job.Spec.Equals(spec))
            return Results.Json(new { error = new { message = "another spec", code = "conflict" } }, statusCode: 409);
        return Results.Text(JsonSerializer.Serialize(job.Status(), JsonDefaults.Compact), "application/json", statusCode: job.Polls == 0 ? 201 : 200);
    }

    private async Task<IResult> Get(string id, HttpRequest request)
    {
        if (Refuse(request, $"GET {id}") is { } refused)
            return refused;
        if (!_jobs.TryGetValue(id, out var job))
            return Results.Json(new { error = new { message = $"no job {id}", code = "not_found" } }, statusCode: 404);
        var before = job.Status().State;
        job.Polls++;
        var status = job.Status();
        if (!before.IsTerminal() && status.State == JobState.Succeeded && job.Spec.Kind == JobKind.Merge)
        {
            foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" })
                await Store.WriteTextAsync(BlobLayout.Models, job.Spec.OutputPrefix + file, "{}");
        }
        if (!before.IsTerminal() && status.State == JobState.Succeeded && job.Spec.Kind == JobKind.Train)
        {
            // What a LoRA train job leaves: the adapter (stand-in bytes naming the job) beside other files.
            foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors", "metrics.jsonl" })
                await Store.WriteTextAsync(BlobLayout.Checkpoints, job.Spec.OutputPrefix + file, $"{file} of {id}");
        }
        return Results.Text(JsonSerializer.Serialize(status, JsonDefaults.Compact), "application/json");
    }

    private IResult Delete(string id, HttpRequest request)
    {
        if (Refuse(request, $"DELETE {id}") is { } refused)
            return refused;
        if (!_jobs.TryGetValue(id, out var job))
            return Results.Json(new { error = new { message = $"no job {id}", code = "not_found" } }, statusCode: 404);
        job.Cancelled = true;
        Cancelled.Enqueue(id);
        return Results.Text(JsonSerializer.Serialize(job.Status(), JsonDefaults.Compact), "application/json");
    }

    private IResult? Refuse(HttpRequest request, string call)
    {
        Calls.Enqueue(call);
        if (request.Headers.Authorization.ToString() != $"Bearer {BearerToken}")
            return Results.Json(new { error = new { message = "unauthorized", code = "unauthorized" } }, statusCode: 401);
        if (Interlocked.Decrement(ref _unavailable) >= 0)
            return Results.Json(new { error = new { message = "starting", code = "unavailable" } }, statusCode: 503);
        Interlocked.Exchange(ref _unavailable, 0);
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Job(string id, TrainingJobSpec spec, JobScript script, DateTimeOffset created)
    {
        public TrainingJobSpec Spec { get; } = spec;

        public int Polls { get; set; }

        public bool Cancelled { get; set; }

        public JobStatus Status()
        {
            var state = Cancelled ? JobState.Cancelled
                : Polls >= script.Polls ? script.End
                : Polls == 0 ? JobState.Queued : JobState.Running;
            return new JobStatus
            {
                Id = id,
                Kind = Spec.Kind,
                State = state,
                Progress = new JobProgress { Step = Math.Min(Polls, 100) },
                Result = state == JobState.Succeeded
                    ? new JobResult
                    {
                        OutputPrefix = Spec.OutputPrefix,
                        Metrics = script.EvalLoss is { } loss ? new Dictionary<string, double> { ["evalLoss"] = loss } : new Dictionary<string, double>(),
                        BaseSha256 = Spec.Kind == JobKind.Merge ? BaseSha256 : null,
                        ModelSha256 = Spec.Kind is JobKind.Merge or JobKind.Evaluate ? script.ModelSha256 ?? MergedSha256 : null,
                    }
                    : null,
                Error = state == JobState.Failed ? script.Error ?? "scripted failure" : state == JobState.Cancelled ? "cancelled" : null,
                ErrorCode = state == JobState.Failed ? script.ErrorCode : null,
                CreatedAt = created,
                UpdatedAt = created,
            };
        }
    }
}
