using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.OpenAi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>Maps the API's routes onto an ASP.NET Core app; the <see cref="EngineSlot"/> comes from its services.</summary>
public static class ServingEndpoints
{
    public static IEndpointRouteBuilder MapServingApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/chat/completions", With(OpenAiHandlers.ChatCompletionsAsync));
        routes.MapPost("/v1/completions", With(OpenAiHandlers.CompletionsAsync));
        routes.MapGet("/v1/models", With(OpenAiHandlers.ModelsAsync));
        routes.MapGet("/v1/models/{id}", (RequestDelegate)(http =>
            OpenAiHandlers.ModelAsync(http, Host(http), (string)http.Request.RouteValues["id"]!)));
        routes.MapPost("/generate", With(OpenAiHandlers.GenerateAsync));
        routes.MapPost(LoadLoraAdapter, With(OpenAiHandlers.LoadLoraAdapterAsync));
        routes.MapPost(UnloadLoraAdapter, With(OpenAiHandlers.UnloadLoraAdapterAsync));
        routes.MapGet("/health", With(OpenAiHandlers.HealthAsync));
        routes.MapGet("/metrics", With(OpenAiHandlers.MetricsAsync));
        return routes;
    }

    /// <summary>Requires <c>Authorization: Bearer {apiKey}</c> on every route but <c>/health</c>.</summary>
    public static IApplicationBuilder UseBearerApiKey(this IApplicationBuilder app, string apiKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        return app.Use(async (http, next) =>
        {
            if (http.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase) || ApiKey.Matches(http.Request.Headers.Authorization, apiKey))
            {
                await next(http);
                return;
            }
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await OpenAiHandlers.WriteErrorAsync(http, 401,
                "Incorrect or missing API key: send 'Authorization: Bearer <key>' with the key the server was started with",
                "invalid_request_error", null, "invalid_api_key");
        });
    }

    /// <summary>
    /// Answers 403 on the adapter loading routes: a server without an API key must not let anyone make it read its folders.
    /// </summary>
    public static IApplicationBuilder RefuseRuntimeLoraUpdating(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!http.Request.Path.Equals(LoadLoraAdapter, StringComparison.OrdinalIgnoreCase) && !http.Request.Path.Equals(UnloadLoraAdapter, StringComparison.OrdinalIgnoreCase))
        {
            await next(http);
            return;
        }
        await OpenAiHandlers.WriteErrorAsync(http, 403,
            "loading adapters at run time needs the server to be started with an API key (or --allow-runtime-lora-updating)",
            "invalid_request_error", null, "runtime_lora_updating_disabled");
    });

    private const string LoadLoraAdapter = "/v1/load_lora_adapter";
    private const string UnloadLoraAdapter = "/v1/unload_lora_adapter";

    private static RequestDelegate With(Func<HttpContext, EngineSlot, Task> handler) => http => handler(http, Host(http));

    private static EngineSlot Host(HttpContext http) => http.RequestServices.GetRequiredService<EngineSlot>();
}
