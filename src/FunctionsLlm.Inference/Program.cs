using FunctionsLlm.Inference;
using FunctionsLlm.Modeling.Runtime;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

NativeRuntime.Configure();
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
var settings = InferenceSettings.Read(builder.Configuration);
builder.Services.AddSingleton(_ => settings.CreateStore());
builder.Services.AddSingleton<EngineSlot>();
if (settings.Adapters is { } adapters)
{
    builder.Services.AddSingleton(adapters);
    builder.Services.AddSingleton<AdapterFollower>();
    builder.Services.AddHostedService<AdapterFollowerService>();
}
else
{
    builder.Services.AddSingleton(settings.Follower);
    builder.Services.AddSingleton<ModelFollower>();
    builder.Services.AddHostedService<ModelFollowerService>();
}
builder.Build().Run();
