using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.OpenAi;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FunctionsLlm.Inference;

/// <summary>
/// The HTTP API as Azure Functions (ASP.NET Core integration): each function hands its HttpContext to the same
/// handler <c>flm serve</c> uses. Keys: authLevel Function (send <c>x-functions-key</c> or <c>?code=</c>); /health is
/// anonymous for probes. host.json sets an empty route prefix so OpenAI clients use <c>https://APP/v1</c>.
/// </summary>
public sealed class InferenceFunctions(EngineSlot engines)
{
    [Function(nameof(ChatCompletions))]
    public Task<IActionResult> ChatCompletions([HttpTrigger(AuthorizationLevel.Function, "post", Route = "v1/chat/completions")] HttpRequest request) =>
        Handle(OpenAiHandlers.ChatCompletionsAsync(request.HttpContext, engines));

    [Function(nameof(Completions))]
    public Task<IActionResult> Completions([HttpTrigger(AuthorizationLevel.Function, "post", Route = "v1/completions")] HttpRequest request) =>
        Handle(OpenAiHandlers.CompletionsAsync(request.HttpContext, engines));

    [Function(nameof(Models))]
    public Task<IActionResult> Models([HttpTrigger(AuthorizationLevel.Function, "get", Route = "v1/models")] HttpRequest request) =>
        Handle(OpenAiHandlers.ModelsAsync(request.HttpContext, engines));

    [Function(nameof(Model))]
    public Task<IActionResult> Model([HttpTrigger(AuthorizationLevel.Function, "get", Route = "v1/models/{id}")] HttpRequest request, string id) =>
        Handle(OpenAiHandlers.ModelAsync(request.HttpContext, engines, id));

    [Function(nameof(Generate))]
    public Task<IActionResult> Generate([HttpTrigger(AuthorizationLevel.Function, "post", Route = "generate")] HttpRequest request) =>
        Handle(OpenAiHandlers.GenerateAsync(request.HttpContext, engines));

    /// <summary>vLLM's runtime adapter loading; the host's admin (master) key only, as it makes the app read a folder.</summary>
    [Function(nameof(LoadLoraAdapter))]
    public Task<IActionResult> LoadLoraAdapter([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "v1/load_lora_adapter")] HttpRequest request) =>
        Handle(OpenAiHandlers.LoadLoraAdapterAsync(request.HttpContext, engines));

    [Function(nameof(UnloadLoraAdapter))]
    public Task<IActionResult> UnloadLoraAdapter([HttpTrigger(AuthorizationLevel.Admin, "post", Route = "v1/unload_lora_adapter")] HttpRequest request) =>
        Handle(OpenAiHandlers.UnloadLoraAdapterAsync(request.HttpContext, engines));

    [Function(nameof(Metrics))]
    public Task<IActionResult> Metrics([HttpTrigger(AuthorizationLevel.Function, "get", Route = "metrics")] HttpRequest request) =>
        Handle(OpenAiHandlers.MetricsAsync(request.HttpContext, engines));

    [Function(nameof(Health))]
    public Task<IActionResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        Handle(OpenAiHandlers.HealthAsync(request.HttpContext, engines));

    /// <summary>The handler has written the response (status, headers, body or SSE stream).</summary>
    private static async Task<IActionResult> Handle(Task written)
    {
        await written;
        return new EmptyResult();
    }
}
