using FunctionsLlm.Serving.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>Where and how <c>flm serve</c> listens.</summary>
/// <param name="Port">0 picks a free port (see <see cref="ServingServer.Address"/>).</param>
/// <param name="AllowRuntimeLoraUpdating">Whether <c>/v1/load_lora_adapter</c> and <c>/v1/unload_lora_adapter</c> work without
/// an API key (they read folders on this machine; vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING). With a key they always work.</param>
public sealed record ServeOptions(string Host = "127.0.0.1", int Port = 8080, string? ApiKey = null, bool AllowRuntimeLoraUpdating = false);

/// <summary>The API on Kestrel: what <c>flm serve</c> runs, and what the tests talk to over real HTTP.</summary>
public sealed class ServingServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServingServer(WebApplication app, EngineSlot engines)
    {
        _app = app;
        Engines = engines;
    }

    public EngineSlot Engines { get; }

    /// <summary>The base address it listens on, e.g. <c>http://127.0.0.1:8080</c>.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Starts listening; the server owns <paramref name="engines"/> and disposes it.</summary>
    public static async Task<ServingServer> StartAsync(EngineSlot engines, ServeOptions options, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddSingleton(engines);
        var app = builder.Build();
        if (options.ApiKey is { Length: > 0 } key)
            app.UseBearerApiKey(key);
        else if (!options.AllowRuntimeLoraUpdating)
            app.RefuseRuntimeLoraUpdating();
        app.MapServingApi();
        await app.StartAsync(cancellationToken);
        return new ServingServer(app, engines);
    }

    /// <summary>Completes when the host stops (Ctrl+C / SIGTERM) or <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Engines.Dispose();
    }
}
