using FunctionsLlm.Modeling.Runtime;
using FunctionsLlm.Trainer;

if (args is ["--probe", ..])
    return await Probe.RunAsync(args.Length > 1 ? args[1] : "http://127.0.0.1:8080/healthz");

NativeRuntime.Configure();
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);   // status polls would drown the job log
builder.Services.AddTrainer();
builder.Build().UseTrainer().Run();
return 0;

/// <summary>The entry point; public for WebApplicationFactory.</summary>
public partial class Program;
