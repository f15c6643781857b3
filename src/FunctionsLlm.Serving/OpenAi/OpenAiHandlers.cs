using System.Text.Encodings.Web;
using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>
/// The HTTP API, written against <see cref="HttpContext"/> so <c>flm serve</c> (Kestrel) and the Functions app
/// (HTTP triggers with ASP.NET Core integration) run the same code. Every error is OpenAI's error object with a
/// 4xx/5xx status; a refused request never takes the server down.
/// </summary>
public static class OpenAiHandlers
{
    private const int MaxBodyBytes = 8 << 20;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary><c>POST /v1/chat/completions</c>.</summary>
    public static Task ChatCompletionsAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, async (root, engine) =>
    {
        var request = ChatCompletionRequest.Parse(root);
        var adapter = engine.Resolve(request.Model);
        var ids = engine.Model.ChatPromptIds(request.Messages);
        var options = request.Sampling.ToOptions(engine, ids.Count, request.TopLogprobs);
        var stream = engine.Submit(ids, options, adapter, http.RequestAborted);
        var response = new ChatResponder(engine, ModelId(engine, adapter), $"chatcmpl-{Guid.NewGuid():N}", ids.Count, request.Logprobs);
        if (request.Sampling.Stream)
            await Sse.WriteAsync(http, response.Chunks(stream, request.Sampling.IncludeUsage, http.RequestAborted));
        else
            await WriteJsonAsync(http, 200, response.Completion(await stream.Completion));
    });

    /// <summary><c>POST /v1/completions</c>: text or token-id prompts.</summary>
    public static Task CompletionsAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, async (root, engine) =>
    {
        var request = CompletionRequest.Parse(root);
        var adapter = engine.Resolve(request.Model);
        if (request.Sampling.Stream && request.Prompts.Count > 1)
            throw new OpenAiRequestException("streaming takes one prompt", "prompt");
        var tokenizer = engine.Model.Tokenizer;
        var prompts = request.Prompts.Select(p => p.TokenIds ?? tokenizer.Encode(p.Text!, addSpecialTokens: true)).ToArray();
        var streams = prompts.Select(ids => engine.Submit(ids, request.Sampling.ToOptions(engine, ids.Count, request.Logprobs), adapter, http.RequestAborted))
            .ToArray();
        var response = new CompletionResponder(ModelId(engine, adapter), $"cmpl-{Guid.NewGuid():N}", request.Logprobs is not null);
        if (request.Sampling.Stream)
            await Sse.WriteAsync(http, response.Chunks(streams[0], request.Sampling.IncludeUsage, http.RequestAborted));
        else
            await WriteJsonAsync(http, 200, response.Completion(await Task.WhenAll(streams.Select(s => s.Completion))));
    });

    /// <summary><c>POST /generate</c> <c>{"prompt": "…"}</c> → <c>{"response": "…"}</c>: the original tutorial's API.</summary>
    /// <remarks>The prompt is a user message under the model's chat template (raw text when it has none); the tutorial's
    /// sampling defaults (200 tokens, temperature 0.7, top-p 0.9) unless max_tokens, temperature, top_p or seed are given;
    /// <c>model</c> may name an adapter, as on the OpenAI routes.</remarks>
    public static Task GenerateAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, async (root, engine) =>
    {
        var body = new JsonFields(root, "");
        string prompt = body.String("prompt") ?? throw new OpenAiRequestException("'prompt' is required", "prompt");
        if (prompt.Length == 0)
            throw new OpenAiRequestException("'prompt' must not be empty", "prompt");
        var adapter = engine.Resolve(body.String("model"));
        var model = engine.Model;
        var ids = model.Tokenizer.ChatTemplate is null ? model.Tokenizer.Encode(prompt, addSpecialTokens: true) : model.ChatPromptIds([("user", prompt)]);
        var defaults = new SamplingOptions();
        var options = defaults with
        {
            MaxTokens = body.Integer("max_tokens", 1, int.MaxValue) ?? Math.Min(defaults.MaxTokens, engine.DefaultMaxTokens(ids.Count)),
            Temperature = body.Number("temperature", 0, 2) ?? defaults.Temperature,
            TopP = body.Number("top_p", 0.000001, 1) ?? defaults.TopP,
            Seed = body.Integer("seed", int.MinValue, int.MaxValue),
        };
        var result = await engine.Submit(ids, options, adapter, http.RequestAborted).Completion;
        await WriteJsonAsync(http, 200, new { response = result.Text });
    });

    /// <summary><c>GET /v1/models</c>: the base, then each adapter with the base as <c>parent</c> (as vLLM lists them).</summary>
    public static Task ModelsAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, readBody: false, (_, engine) =>
        WriteJsonAsync(http, 200, new ModelList("list", [Card(engine, null), .. engine.Adapters.All.Select(a => Card(engine, a))])));

    /// <summary><c>GET /v1/models/{id}</c>.</summary>
    public static Task ModelAsync(HttpContext http, EngineSlot host, string id) => HandleAsync(http, host, readBody: false, (_, engine) =>
        WriteJsonAsync(http, 200, Card(engine, engine.Resolve(id))));

    /// <summary>
    /// <c>POST /v1/load_lora_adapter</c> <c>{"lora_name", "lora_path", "load_inplace"}</c>, vLLM's route: serves the PEFT
    /// adapter in the server's folder <c>lora_path</c> as <c>lora_name</c> (checked now, loaded when first used);
    /// <c>load_inplace: true</c> replaces an adapter of that name, whose running requests finish on the old one.
    /// </summary>
    public static Task LoadLoraAdapterAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, async (root, engine) =>
    {
        var body = new JsonFields(root, "");
        string name = body.String("lora_name") ?? throw new OpenAiRequestException("'lora_name' is required", "lora_name");
        string path = body.String("lora_path") ?? throw new OpenAiRequestException("'lora_path' is required", "lora_path");
        engine.AddAdapter(name, path, replace: body.Boolean("load_inplace") ?? false);
        await WriteTextAsync(http, 200, $"Success: LoRA adapter '{name}' added successfully.");
    });

    /// <summary><c>POST /v1/unload_lora_adapter</c> <c>{"lora_name"}</c>: requests already running on it finish.</summary>
    public static Task UnloadLoraAdapterAsync(HttpContext http, EngineSlot host) => HandleAsync(http, host, async (root, engine) =>
    {
        var body = new JsonFields(root, "");
        string name = body.String("lora_name") ?? throw new OpenAiRequestException("'lora_name' is required", "lora_name");
        if (!engine.Adapters.Remove(name))
            throw new OpenAiRequestException($"The LoRA adapter '{name}' cannot be found", "lora_name", 404, "model_not_found");
        await WriteTextAsync(http, 200, $"Success: LoRA adapter '{name}' removed successfully.");
    });

    /// <summary><c>GET /health</c>: 200 with the model and load while a model is loaded, 503 before.</summary>
    public static Task HealthAsync(HttpContext http, EngineSlot host)
    {
        if (host.Current is not { } engine)
            return WriteJsonAsync(http, 503, new { status = "loading" });
        return WriteJsonAsync(http, 200, new
        {
            status = "ok",
            model = engine.Model.Name,
            active_sequences = engine.ActiveSequences,
            queued_requests = engine.QueuedRequests,
            generated_tokens = engine.GeneratedTokens,
            adapters = engine.Adapters.All.Select(a => a.Name).ToArray(),
            resident_adapters = engine.ResidentAdapters,
        });
    }

    /// <summary><c>GET /metrics</c>: <see cref="EngineMetrics"/> in Prometheus' text format, behind the API's key.</summary>
    public static Task MetricsAsync(HttpContext http, EngineSlot host)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return host.Metrics.WriteAsync(http.Response.Body, http.RequestAborted);
    }

    /// <summary>Writes OpenAI's error object.</summary>
    public static Task WriteErrorAsync(HttpContext http, int status, string message, string type, string? param = null, string? code = null) =>
        WriteJsonAsync(http, status, new ErrorResponse(new ErrorBody(message, type, param, code)));

    private static ModelCard Card(InferenceEngine engine, ServedAdapter? adapter) => adapter is null
        ? new(engine.Model.Name, "model", engine.Model.LoadedAt.ToUnixTimeSeconds(), "functionsllm", engine.Model.Name, null, engine.ContextLength)
        : new(adapter.Name, "model", adapter.AddedAt.ToUnixTimeSeconds(), "functionsllm", adapter.Source, engine.Model.Name, engine.ContextLength);

    /// <summary>The <c>model</c> responses carry: the adapter's name, or the base's.</summary>
    private static string ModelId(InferenceEngine engine, ServedAdapter? adapter) => adapter?.Name ?? engine.Model.Name;

    private static Task HandleAsync(HttpContext http, EngineSlot host, Func<JsonElement, InferenceEngine, Task> handle) =>
        HandleAsync(http, host, readBody: true, handle);

    private static async Task HandleAsync(HttpContext http, EngineSlot host, bool readBody, Func<JsonElement, InferenceEngine, Task> handle)
    {
        try
        {
            using var document = readBody ? await ReadBodyAsync(http) : null;
            using var lease = host.Acquire();
            await handle(document?.RootElement ?? default, lease.Engine);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its sequence was cancelled with it.
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            var (status, type, param, code) = Classify(e);
            if (e is EngineRejectedException { Reason: EngineRejection.Busy or EngineRejection.Unavailable })
                http.Response.Headers.RetryAfter = (host.Current?.Options.RetryAfterSeconds ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (status >= 500)
                Logger(http).LogError(e, "{Path} failed", http.Request.Path);
            await WriteErrorAsync(http, status, status == 500 ? $"internal error: {e.Message}" : e.Message, type, param, code);
        }
    }

    private static (int Status, string Type, string? Param, string? Code) Classify(Exception e) => e switch
    {
        OpenAiRequestException r => (r.Status, "invalid_request_error", r.Param, r.Code),
        EngineRejectedException { Reason: EngineRejection.ModelNotFound } r => (404, "invalid_request_error", r.Param, "model_not_found"),
        EngineRejectedException { Reason: EngineRejection.ContextLengthExceeded } r => (400, "invalid_request_error", r.Param, "context_length_exceeded"),
        EngineRejectedException { Reason: EngineRejection.Busy } => (429, "rate_limit_error", null, "server_busy"),
        EngineRejectedException { Reason: EngineRejection.Unavailable } => (503, "server_error", null, "model_unavailable"),
        EngineRejectedException r => (400, "invalid_request_error", r.Param, null),
        TemplateException => (400, "invalid_request_error", "messages", null),
        _ => (500, "server_error", null, null),
    };

    private static async Task<JsonDocument> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > MaxBodyBytes)
            throw new OpenAiRequestException($"the request body is over {MaxBodyBytes >> 20} MiB", null, 413);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                throw new OpenAiRequestException($"the request body is over {MaxBodyBytes >> 20} MiB", null, 413);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
            throw new OpenAiRequestException("the request body is empty; send a JSON object");
        // JsonDocument checks UTF-8 only when a string is read, which would make a bad byte a 500 deep in a handler.
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            throw new OpenAiRequestException("the request body is not valid UTF-8");
        try
        {
            return JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException e)
        {
            throw new OpenAiRequestException($"the request body is not valid JSON: {e.Message}");
        }
    }

    private static async Task WriteTextAsync(HttpContext http, int status, string text)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        await http.Response.WriteAsync(text, http.RequestAborted);
    }

    internal static async Task WriteJsonAsync<T>(HttpContext http, int status, T value)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(http.Response.Body, value, Json, http.RequestAborted);
    }

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices?.GetService<ILoggerFactory>()?.CreateLogger(typeof(OpenAiHandlers).FullName!) ??
        Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
