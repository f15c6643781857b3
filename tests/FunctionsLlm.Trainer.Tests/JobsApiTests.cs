using System.Net;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Trainer.Api;
using FunctionsLlm.Trainer.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>The HTTP contract, with a local-folder store and the runner paused (jobs stay queued).</summary>
public sealed class JobsApiTests : IDisposable
{
    private const string Spec = """
        {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "r1/train.jsonl"},
         "hyperparameters": {"loraR": 8, "lr": 1e-4}, "outputPrefix": "r1-c0/"}
        """;

    // The same spec: other member order, whitespace, number spelling, a default spelled out.
    private const string SameSpec = """{"outputPrefix":"r1-c0/","hyperparameters":{"lr":0.0001,"loraR":8,"epochs":3},"datasetPrefixes":{"train":"r1/train.jsonl"},"baseModelPrefix":"base/tiny/","kind":"train"}""";

    private readonly TempFolder _root = new("flm-trainer-api-");
    private readonly TrainerApp _app;

    public JobsApiTests() => _app = new TrainerApp(TrainerApp.Local(_root, run: false));

    public void Dispose()
    {
        _app.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task Put_creates_a_queued_job_and_the_same_spec_again_returns_it()
    {
        var client = _app.Client();
        using var created = await client.PutAsync("/jobs/r1-c0", TrainerApp.Json(Spec));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/jobs/r1-c0", created.Headers.Location?.OriginalString);
        var status = await TrainerApp.StatusOf(created);
        Assert.Equal(("r1-c0", JobKind.Train, JobState.Queued), (status.Id, status.Kind, status.State));

        using var again = await client.PutAsync("/jobs/r1-c0", TrainerApp.Json(SameSpec));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(status.CreatedAt, (await TrainerApp.StatusOf(again)).CreatedAt);

        using var get = await client.GetAsync("/jobs/r1-c0");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(JobState.Queued, (await TrainerApp.StatusOf(get)).State);

        // The state is in the store: spec and status in checkpoints/{id}/job.json, and the marker of an unfinished job.
        var store = new LocalFolderStore(Path.Combine(_root, "store"));
        var (spec, stored) = JobDocument.Read(await store.ReadTextAsync(BlobLayout.Checkpoints, "r1-c0/job.json"), "job.json");
        Assert.Equal(TrainingJobSpec.Parse(Spec), spec);
        Assert.Equal(JobState.Queued, stored.State);
        Assert.True(await store.ExistsAsync(BlobLayout.Checkpoints, JobRegistry.ActivePrefix + "r1-c0"));
    }

    [Fact]
    public async Task Put_with_another_spec_for_an_existing_id_is_a_conflict()
    {
        var client = _app.Client();
        (await client.PutAsync("/jobs/j1", TrainerApp.Json(Spec))).EnsureSuccessStatusCode();
        using var conflict = await client.PutAsync("/jobs/j1", TrainerApp.Json(Spec.Replace("1e-4", "2e-4", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var error = await ErrorOf(conflict);
        Assert.Equal("job_conflict", error.GetProperty("code").GetString());
        Assert.Contains("already exists with another spec", error.GetProperty("message").GetString());
        Assert.Equal(0.0001, error.GetProperty("existingSpec").GetProperty("hyperparameters").GetProperty("lr").GetDouble());
    }

    [Fact]
    public async Task An_invalid_spec_is_a_400_listing_every_problem()
    {
        var client = _app.Client();
        using var response = await client.PutAsync("/jobs/bad", TrainerApp.Json("""
            {"kind": "merge", "baseModelPrefix": "base/tiny", "hyperparameters": {"lr": -1, "loraR": 0}, "outputPrefix": "m/"}
            """));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_spec", error.GetProperty("code").GetString());
        var problems = error.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains("'baseModelPrefix' must end with '/'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'adapterPrefix' is required for a merge job", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'hyperparameters.lr' must be positive", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'hyperparameters.loraR' must be at least 1", StringComparison.Ordinal));

        using var notJson = await client.PutAsync("/jobs/bad", TrainerApp.Json("{kind: train"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Contains("not valid JSON", (await ErrorOf(notJson)).GetProperty("message").GetString());

        using var badId = await client.PutAsync("/jobs/-x", TrainerApp.Json(Spec));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.Equal("invalid_job_id", (await ErrorOf(badId)).GetProperty("code").GetString());
        // A final newline: the id rule is anchored with \z, since $ would match before it.
        foreach (string id in new[] { "job-1%0A", "job-1%0D", "job%09x" })
        {
            using var newline = await client.PutAsync($"/jobs/{id}", TrainerApp.Json(Spec));
            Assert.Equal(HttpStatusCode.BadRequest, newline.StatusCode);
            Assert.Equal("invalid_job_id", (await ErrorOf(newline)).GetProperty("code").GetString());
        }
        using var missing = await client.GetAsync("/jobs/bad");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>A spec over 64 KiB, announced by Content-Length or chunked, is a 413 with the error shape; the API still answers.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_spec_limit_is_a_413_and_the_api_still_answers(bool withLength)
    {
        var client = _app.Client();
        byte[] body = Encoding.UTF8.GetBytes($$"""{"kind": "train", "notes": "{{new string('x', JobsApi.MaxSpecBytes)}}"}""");
        using HttpContent content = withLength ? new ByteArrayContent(body) : new StreamContent(new UnseekableStream(body));
        content.Headers.ContentType = new("application/json");

        using var response = await client.PutAsync("/jobs/big", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("body_too_large", (await ErrorOf(response)).GetProperty("code").GetString());
        using var after = await client.PutAsync("/jobs/small", TrainerApp.Json(Spec));
        Assert.True(after.IsSuccessStatusCode, $"{after.StatusCode}");
    }

    /// <summary>
    /// Thousands of seeded mutations of valid specs (<see cref="JsonFuzz"/>): each answer is a 4xx with the error shape
    /// or a 2xx with a job status, never a 5xx, and the API answers a valid request at the end.
    /// </summary>
    [Fact]
    public async Task Mutated_specs_get_a_4xx_with_the_error_shape_or_a_2xx_and_never_a_5xx()
    {
        var client = _app.Client();
        var fuzz = new JsonFuzz(2026, Spec, """
            {"kind": "merge", "baseModelPrefix": "base/tiny/", "adapterPrefix": "r1-c0/", "outputPrefix": "m/r1/"}
            """, """
            {"kind": "evaluate", "baseModelPrefix": "base/tiny/", "modelPrefix": "m/r1/", "datasetPrefixes": {"eval": "r1/eval.jsonl"},
             "outputPrefix": "r1/report/", "hyperparameters": {"lrScheduler": "cosine", "targetModules": ["q_proj"], "warmupRatio": 0.1}}
            """);
        var statuses = new SortedDictionary<int, int>();
        for (int i = 0; i < 2000; i++)
        {
            var (mutation, body) = fuzz.Next();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PutAsync($"/jobs/f{i}", content);
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            string what = $"#{i} ({mutation}): {Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 300)]}";
            Assert.True(status is >= 200 and < 300 or >= 400 and < 500, $"{status} on {what}: {await response.Content.ReadAsStringAsync()}");
            if (status >= 400)
                Assert.False(string.IsNullOrWhiteSpace((await ErrorOf(response)).GetProperty("code").GetString()), what);
            else
                Assert.Equal(JobState.Queued, (await TrainerApp.StatusOf(response)).State);
            if (mutation == "invalid UTF-8")
                Assert.True(status == 400, $"{status} on {what}: a bad byte must not become U+FFFD in an accepted spec");
        }

        Assert.True(statuses.Keys.Any(s => s < 300) && statuses.Keys.Any(s => s >= 400), string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
        using var valid = await client.PutAsync("/jobs/after-fuzz", TrainerApp.Json(Spec));
        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
    }


    [Fact]
    public async Task Unknown_jobs_are_404_for_get_and_delete()
    {
        var client = _app.Client();
        foreach (var response in new[] { await client.GetAsync("/jobs/nope"), await client.DeleteAsync("/jobs/nope") })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var error = await ErrorOf(response);
            Assert.Equal("job_not_found", error.GetProperty("code").GetString());
            Assert.Contains("no job 'nope'", error.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Delete_cancels_a_queued_job_and_a_finished_job_stays_as_it_is()
    {
        var client = _app.Client();
        (await client.PutAsync("/jobs/c1", TrainerApp.Json(Spec))).EnsureSuccessStatusCode();
        using var deleted = await client.DeleteAsync("/jobs/c1");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var status = await TrainerApp.StatusOf(deleted);
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Contains("cancelled by DELETE", status.Error);
        using var again = await client.DeleteAsync("/jobs/c1");
        Assert.Equal(JobState.Cancelled, (await TrainerApp.StatusOf(again)).State);
        Assert.Equal(JobState.Cancelled, (await TrainerApp.StatusOf(await client.GetAsync("/jobs/c1"))).State);
        var store = new LocalFolderStore(Path.Combine(_root, "store"));
        Assert.False(await store.ExistsAsync(BlobLayout.Checkpoints, JobRegistry.ActivePrefix + "c1"), "a finished job has no active marker");
    }

    [Fact]
    public async Task Every_route_but_health_and_readiness_needs_the_bearer_key()
    {
        var anonymous = _app.Client(key: null);
        foreach (string path in new[] { "/health", "/healthz" })
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(path)).StatusCode);
        foreach (string path in new[] { "/ready", "/readyz" })
            Assert.Equal(HttpStatusCode.OK, (await WaitReadyAsync(anonymous, path)).StatusCode);

        using var none = await anonymous.GetAsync("/jobs/x");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("missing credentials", (await ErrorOf(none)).GetProperty("message").GetString());
        using var put = await anonymous.PutAsync("/jobs/x", TrainerApp.Json(Spec));
        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);

        var wrong = _app.Client(key: TrainerApp.ApiKey + "x");
        using var bad = await wrong.DeleteAsync("/jobs/x");
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Contains("invalid credentials", (await ErrorOf(bad)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Client().GetAsync("/jobs/x")).StatusCode);
    }

    /// <summary>
    /// Every route the trainer maps (read from its routing, so a new route is covered without editing this test)
    /// refuses a missing and a wrong key; only the listed probes are open.
    /// </summary>
    [Fact]
    public async Task Every_mapped_route_but_the_probes_refuses_a_missing_or_a_wrong_key()
    {
        string[] probes = ["/health", "/healthz", "/ready", "/readyz"];
        _ = _app.Client();
        var routes = _app.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .SelectMany(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods
                .Select(m => (Method: m, Path: "/" + e.RoutePattern.RawText!.TrimStart('/').Replace("{id}", "x", StringComparison.Ordinal))))
            .ToList();
        Assert.True(routes.Count >= 7, $"{routes.Count} routes mapped");

        var open = new List<string>();
        foreach (var (method, path) in routes)
        {
            foreach (var client in new[] { _app.Client(key: null), _app.Client(key: TrainerApp.ApiKey + "x") })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "PUT" ? TrainerApp.Json(Spec) : null };
                using var response = await client.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                    Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                else
                    open.Add(path);
            }
        }
        Assert.Equal(probes.SelectMany(p => new[] { p, p }).Order(StringComparer.Ordinal), open.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Without_a_configured_key_every_job_call_is_refused()
    {
        var settings = TrainerApp.Local(Path.Combine(_root, "nokey"), run: false);
        settings["FLM_TRAINER_API_KEY"] = null;
        using var app = new TrainerApp(settings);
        using var response = await app.Client(key: "anything").GetAsync("/jobs/x");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("accepts no callers", (await ErrorOf(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Readiness_fails_with_a_reason_when_the_cache_folder_is_not_writable()
    {
        var settings = TrainerApp.Local(Path.Combine(_root, "ro"), run: false);
        string file = Path.Combine(_root, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");
        settings["FLM_TRAINER_CACHE"] = Path.Combine(file, "cache");
        using var app = new TrainerApp(settings);
        var client = app.Client(key: null);
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("is not writable", (await ErrorOf(ready)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Jobs_outlive_the_process_that_accepted_them()
    {
        (await _app.Client().PutAsync("/jobs/keep", TrainerApp.Json(Spec))).EnsureSuccessStatusCode();
        _app.Dispose();
        using var next = new TrainerApp(TrainerApp.Local(_root, run: false));
        var client = next.Client();
        var status = await TrainerApp.StatusOf(await client.GetAsync("/jobs/keep"));
        Assert.Equal(JobState.Queued, status.State);
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/jobs/keep", TrainerApp.Json(SameSpec))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PutAsync("/jobs/keep", TrainerApp.Json(Spec.Replace("r1-c0/", "other/", StringComparison.Ordinal)))).StatusCode);
    }

    [Fact]
    public async Task Storage_that_cannot_be_reached_is_a_503_with_the_reason()
    {
        var store = new KillableStore(new LocalFolderStore(Path.Combine(_root, "down")));
        store.Kill();
        using var app = new TrainerApp(TrainerApp.Local(Path.Combine(_root, "down"), run: true),
            services => services.AddSingleton<IArtifactStore>(store));
        var client = app.Client();
        foreach (var response in new[] { await client.PutAsync("/jobs/j", TrainerApp.Json(Spec)), await client.GetAsync("/jobs/j") })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var error = await ErrorOf(response);
            Assert.Equal("storage_unavailable", error.GetProperty("code").GetString());
            Assert.Contains("the process was killed", error.GetProperty("message").GetString());
        }
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("storage is not reachable", (await ErrorOf(ready)).GetProperty("message").GetString());
    }

    internal static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("error").Clone();
    }

    private static async Task<HttpResponseMessage> WaitReadyAsync(HttpClient client, string path)
    {
        for (int i = 0; ; i++)
        {
            var response = await client.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.OK || i == 100)
                return response;
            await Task.Delay(50);
        }
    }
}
