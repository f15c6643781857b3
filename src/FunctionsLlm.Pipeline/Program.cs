using FunctionsLlm.Orchestration;
using FunctionsLlm.Pipeline;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
var settings = PipelineSettings.Read(builder.Configuration);
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(_ => settings.CreateStore());
builder.Services.AddTrainerClient(settings);
builder.Services.AddSingleton(settings.Defaults);
builder.Services.AddSingleton<PipelineActivities>();
builder.Build().Run();
