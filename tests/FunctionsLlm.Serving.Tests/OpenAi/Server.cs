using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using OpenAI;
using OpenAI.Chat;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary>The API on Kestrel at 127.0.0.1 (a free port) over a fixture model, and clients for it.</summary>
internal sealed class Server : IAsyncDisposable
{
    private readonly ServingServer _server;

    private Server(ServingServer server, string? apiKey)
    {
        _server = server;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
            Http.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        Chat = new ChatClient(TestModels.Name, new ApiKeyCredential(apiKey ?? "unused"),
            new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
    }

    public HttpClient Http { get; }

    /// <summary>The official OpenAI .NET SDK's chat client.</summary>
    public ChatClient Chat { get; }

    public EngineSlot Engines => _server.Engines;

    public static async Task<Server> StartAsync(EngineOptions? options = null, string? apiKey = null, string? modelDirectory = null)
    {
        var engines = new EngineSlot();
        engines.Swap(modelDirectory is null
            ? TestModels.Engine(options)
            : new InferenceEngine(ServedModel.Load(modelDirectory, TestModels.Name, new(TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.Float32)), options));
        return new Server(await ServingServer.StartAsync(engines, new ServeOptions(Port: 0, ApiKey: apiKey)), apiKey);
    }

    /// <summary>POSTs raw JSON text; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var response = await Http.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public Task<(int Status, JsonElement Body)> PostAsync(string path, object body) => PostAsync(path, JsonSerializer.Serialize(body));

    public async Task<JsonElement> GetAsync(string path) => await Http.GetFromJsonAsync<JsonElement>(path);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _server.DisposeAsync();
    }
}
