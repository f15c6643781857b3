using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>The trainer app in-process (WebApplicationFactory) with settings given as configuration, the way the container gets them.</summary>
internal sealed class TrainerApp(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null) : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-key-0123456789";

    /// <summary>Settings for a local-folder store and cache under <paramref name="root"/>; the runner paused unless <paramref name="run"/>.</summary>
    public static Dictionary<string, string?> Local(string root, bool run) => new()
    {
        ["FLM_STORAGE_FOLDER"] = Path.Combine(root, "store"),
        ["FLM_TRAINER_CACHE"] = Path.Combine(root, "cache"),
        ["FLM_TRAINER_API_KEY"] = ApiKey,
        ["FLM_TRAINER_MAX_CONCURRENT_JOBS"] = run ? "1" : "0",
        ["FLM_TRAINER_PROGRESS_SECONDS"] = "0",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
        builder.ConfigureLogging(logging => logging.ClearProviders());
        if (services is not null)
            builder.ConfigureTestServices(services);
    }

    public HttpClient Client(string? key = ApiKey)
    {
        var client = CreateClient();
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>PUT /jobs/{id}, which must create the job (the error body in the failure message otherwise).</summary>
    public static async Task<JobStatus> CreateAsync(HttpClient client, string id, string spec)
    {
        using var put = await client.PutAsync($"/jobs/{id}", Json(spec));
        string body = await put.Content.ReadAsStringAsync();
        Assert.True(put.StatusCode == System.Net.HttpStatusCode.Created, $"PUT /jobs/{id}: {(int)put.StatusCode} {body}");
        return JobStatus.Parse(body);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JobStatus> StatusOf(HttpResponseMessage response) =>
        JobStatus.Parse(await response.Content.ReadAsStringAsync());

    /// <summary>Polls GET /jobs/{id} until the job is finished (or <paramref name="until"/> holds).</summary>
    public static async Task<JobStatus> WaitAsync(HttpClient client, string id, Func<JobStatus, bool>? until = null, int seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            using var response = await client.GetAsync($"/jobs/{id}");
            response.EnsureSuccessStatusCode();
            var status = await StatusOf(response);
            if ((until ?? (s => s.IsTerminal))(status))
                return status;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"job {id} is still {status.State} after {seconds} s: {JsonSerializer.Serialize(status, JsonDefaults.Compact)}");
            await Task.Delay(50);
        }
    }
}
