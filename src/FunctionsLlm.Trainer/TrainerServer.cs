using FunctionsLlm.Core.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FunctionsLlm.Trainer;

/// <summary>The trainer app on Kestrel at <c>http://127.0.0.1:{free port}</c>, in this process.</summary>
public sealed class TrainerServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TrainerServer(WebApplication app) => _app = app;

    /// <summary>The base address, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    public IServiceProvider Services => _app.Services;

    /// <param name="store">The store to use instead of the one <paramref name="settings"/> name (a wrapper that injects failures, in tests).</param>
    public static async Task<TrainerServer> StartAsync(TrainerSettings settings, Action<ILoggingBuilder>? logging = null,
        IArtifactStore? store = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddTrainer(settings);
        if (store is not null)
            builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IHostLifetime, HostedLifetime>();   // the process's owner handles Ctrl+C, not this app
        var app = builder.Build().UseTrainer();
        await app.StartAsync(cancellationToken);
        return new TrainerServer(app);
    }

    /// <summary>Stops the runner (a running train job checkpoints first) and the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A lifetime that leaves signals alone: the app stops when its owner disposes it.</summary>
internal sealed class HostedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
