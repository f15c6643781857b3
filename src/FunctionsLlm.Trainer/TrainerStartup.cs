using FunctionsLlm.Core.Storage;
using FunctionsLlm.Trainer.Api;
using FunctionsLlm.Trainer.Auth;
using FunctionsLlm.Trainer.Jobs;

namespace FunctionsLlm.Trainer;

/// <summary>
/// The trainer app's services and routes: the container's <c>Program</c> uses them, and so does <see cref="TrainerServer"/>
/// (the same app in-process on loopback: <c>flm pipeline</c> and the end-to-end tests).
/// </summary>
public static class TrainerStartup
{
    /// <summary>The job registry, runner and executor, the store and the auth; settings from configuration unless given.</summary>
    public static IServiceCollection AddTrainer(this IServiceCollection services, TrainerSettings? settings = null)
    {
        if (settings is null)
            services.AddSingleton(sp => TrainerSettings.Read(sp.GetRequiredService<IConfiguration>()));
        else
            services.AddSingleton(settings);
        services.AddSingleton<IArtifactStore>(sp => sp.GetRequiredService<TrainerSettings>().CreateStore());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<JobRegistry>();
        services.AddSingleton<JobExecutor>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        // A running train job writes a checkpoint before it stops; give it time (Container Apps waits 30 s by default).
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        services.AddTrainerAuth();
        return services;
    }

    /// <summary>Error bodies, auth, and the <c>/jobs</c> routes.</summary>
    public static WebApplication UseTrainer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _ = app.Services.GetRequiredService<TrainerSettings>();   // a missing setting stops the start with every problem named
        app.UseJsonErrors();
        app.UseTrainerAuth();
        app.MapTrainerApi();
        return app;
    }
}
