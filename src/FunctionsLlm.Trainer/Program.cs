using FunctionsLlm.Core.Storage;
using FunctionsLlm.Modeling.Runtime;
using FunctionsLlm.Trainer;
using FunctionsLlm.Trainer.Api;
using FunctionsLlm.Trainer.Auth;
using FunctionsLlm.Trainer.Jobs;

if (args is ["--probe", ..])
    return await Probe.RunAsync(args.Length > 1 ? args[1] : "http://127.0.0.1:8080/healthz");

NativeRuntime.Configure();
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);   // status polls would drown the job log
builder.Services.AddSingleton(sp => TrainerSettings.Read(sp.GetRequiredService<IConfiguration>()));
builder.Services.AddSingleton<IArtifactStore>(sp => sp.GetRequiredService<TrainerSettings>().CreateStore());
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<JobHooks>();
builder.Services.AddSingleton<JobRegistry>();
builder.Services.AddSingleton<JobExecutor>();
builder.Services.AddSingleton<JobRunner>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
// A running train job writes a checkpoint before it stops; give it time (Container Apps waits 30 s by default).
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
builder.Services.AddTrainerAuth();

var app = builder.Build();
_ = app.Services.GetRequiredService<TrainerSettings>();   // a missing setting stops the start with every problem named
app.UseJsonErrors();
app.UseTrainerAuth();
app.MapTrainerApi();
app.Run();
return 0;

/// <summary>The entry point; public for WebApplicationFactory.</summary>
public partial class Program;
