using FunctionsLlm.Serving.Hosting;
using Microsoft.Extensions.Hosting;

namespace FunctionsLlm.Inference;

/// <summary>Runs the <see cref="ModelFollower"/> for the app's lifetime: first load at start, then a poll per interval.</summary>
internal sealed class ModelFollowerService(ModelFollower follower) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => follower.RunAsync(stoppingToken);
}

/// <summary>Runs the <see cref="AdapterFollower"/> for the app's lifetime when it serves a base with its adapters.</summary>
internal sealed class AdapterFollowerService(AdapterFollower follower) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => follower.RunAsync(stoppingToken);
}
