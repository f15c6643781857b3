using System.Reflection;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Inference.Tests;

/// <summary>The Functions' HTTP methods called directly with a DefaultHttpContext, over a fixture model.</summary>
public sealed class InferenceFunctionsTests : IDisposable
{
    private const string ModelName = "tiny-qwen3";
    private readonly EngineSlot _engines = new();

    public InferenceFunctionsTests() =>
        _engines.Swap(new InferenceEngine(ServedModel.Load(RepoPaths.Fixture("models", ModelName), ModelName)));

    public void Dispose() => _engines.Dispose();

    [Fact]
    public async Task Chat_completions_answers_with_the_greedy_reply_generated_alone()
    {
        var functions = new InferenceFunctions(_engines);
        var http = Request("""{"model": "tiny-qwen3", "messages": [{"role": "user", "content": "发票怎么开？"}], "temperature": 0, "max_tokens": 10}""");

        await functions.ChatCompletions(http.Request);

        var body = Body(http);
        Assert.Equal(200, http.Response.StatusCode);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal(Reference("发票怎么开？", 10), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(10, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_generate_models_and_health_work_through_the_functions()
    {
        var functions = new InferenceFunctions(_engines);
        var stream = Request("""{"messages": [{"role": "user", "content": "发票怎么开？"}], "temperature": 0, "max_tokens": 10, "stream": true}""");
        await functions.ChatCompletions(stream.Request);
        string sse = Encoding.UTF8.GetString(((MemoryStream)stream.Response.Body).ToArray());
        Assert.Equal("text/event-stream; charset=utf-8", stream.Response.ContentType);
        Assert.EndsWith("data: [DONE]\n\n", sse);
        var deltas = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).SkipLast(1)
            .Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out var c) ? c.GetString() : "");
        Assert.Equal(Reference("发票怎么开？", 10), string.Concat(deltas));

        var generate = Request("""{"prompt": "发票怎么开？", "temperature": 0, "max_tokens": 10}""");
        await functions.Generate(generate.Request);
        Assert.Equal(Reference("发票怎么开？", 10), Body(generate).GetProperty("response").GetString());

        var models = Request(null);
        await functions.Models(models.Request);
        Assert.Equal(ModelName, Body(models).GetProperty("data")[0].GetProperty("id").GetString());

        var unknown = Request(null);
        await functions.Model(unknown.Request, "gpt-4o");
        Assert.Equal(404, unknown.Response.StatusCode);

        var health = Request(null);
        await functions.Health(health.Request);
        Assert.Equal("ok", Body(health).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Before_a_model_is_loaded_requests_get_503_with_retry_after_and_health_says_loading()
    {
        using var empty = new EngineSlot();
        var functions = new InferenceFunctions(empty);
        var chat = Request("""{"messages": [{"role": "user", "content": "hi"}]}""");
        await functions.ChatCompletions(chat.Request);
        Assert.Equal(503, chat.Response.StatusCode);
        Assert.Equal("1", chat.Response.Headers.RetryAfter.ToString());
        Assert.Equal("model_unavailable", Body(chat).GetProperty("error").GetProperty("code").GetString());

        var health = Request(null);
        await functions.Health(health.Request);
        Assert.Equal((503, "loading"), (health.Response.StatusCode, Body(health).GetProperty("status").GetString()));
    }

    [Fact]
    public void The_functions_expose_exactly_the_routes_flm_serve_maps()
    {
        var functionRoutes = typeof(InferenceFunctions).GetMethods()
            .SelectMany(m => m.GetParameters())
            .Select(p => p.GetCustomAttribute<HttpTriggerAttribute>())
            .OfType<HttpTriggerAttribute>()
            .Select(t => $"{string.Join(',', t.Methods!).ToUpperInvariant()} /{t.Route}")
            .Order()
            .ToArray();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton(_engines);
        var app = builder.Build();
        app.MapServingApi();
        var served = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Select(e => $"{string.Join(',', e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods)} {e.RoutePattern.RawText}")
            .Order()
            .ToArray();

        Assert.Equal(served, functionRoutes);
        Assert.Equal(9, served.Length);
    }

    [Fact]
    public void Every_function_but_health_needs_a_function_key_and_adapter_loading_the_admin_key()
    {
        var levels = typeof(InferenceFunctions).GetMethods()
            .Select(m => (m.Name, Trigger: m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>().SingleOrDefault()))
            .Where(f => f.Trigger is not null)
            .ToDictionary(f => f.Name, f => f.Trigger!.AuthLevel);

        string[] admin = [nameof(InferenceFunctions.LoadLoraAdapter), nameof(InferenceFunctions.UnloadLoraAdapter)];
        Assert.Equal(AuthorizationLevel.Anonymous, levels[nameof(InferenceFunctions.Health)]);
        Assert.All(admin, name => Assert.Equal(AuthorizationLevel.Admin, levels[name]));
        Assert.All(levels.Where(l => l.Key != nameof(InferenceFunctions.Health) && !admin.Contains(l.Key)), l => Assert.Equal(AuthorizationLevel.Function, l.Value));
    }

    private static DefaultHttpContext Request(string? json)
    {
        var http = new DefaultHttpContext();
        if (json is not null)
        {
            http.Request.Method = "POST";
            http.Request.ContentType = "application/json";
            http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        }
        http.Response.Body = new MemoryStream();
        return http;
    }

    private static JsonElement Body(HttpContext http) => JsonDocument.Parse(((MemoryStream)http.Response.Body).ToArray()).RootElement;

    private static string Reference(string question, int tokens)
    {
        string dir = RepoPaths.Fixture("models", ModelName);
        using var served = ServedModel.Load(dir, ModelName);
        using var model = ModelLoader.Load(dir);
        return new TextGenerator(model, HfTokenizer.Load(dir))
            .Generate(served.ChatPromptIds([("user", question)]), SamplingOptions.Greedy with { MaxTokens = tokens }).Text;
    }
}
