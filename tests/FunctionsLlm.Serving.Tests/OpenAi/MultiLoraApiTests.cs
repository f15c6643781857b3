using System.Net;
using System.Text.Json;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using OpenAI.Chat;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary>Adapters served over one base through the API: <c>model</c> naming, listing, errors and runtime loading.</summary>
public sealed class MultiLoraApiTests(AdapterModels models) : IClassFixture<AdapterModels>
{
    private static readonly SamplingOptions Greedy = SamplingOptions.Greedy with { StopTokenIds = [] };

    private async Task<Server> StartAsync(string? apiKey = null, int maxLoras = 2)
    {
        var server = await Server.StartAsync(new EngineOptions { MaxConcurrentSequences = 8, MaxLoras = maxLoras, MaxLoraRank = 8 }, apiKey, models.BaseDirectory);
        foreach (string name in AdapterModels.Names)
            server.Engines.Current!.AddAdapter(name, models.AdapterDirectory(name));
        return server;
    }

    [Fact]
    public async Task Sixteen_concurrent_completions_naming_the_base_or_an_adapter_each_get_what_its_merged_model_gives_alone()
    {
        await using var server = await StartAsync();
        var prompts = TestModels.Prompts(16);
        // The base by name, an adapter by its own name, BASE:ADAPTER, and the base by default.
        string?[] modelField = [TestModels.Name, "support", $"{TestModels.Name}:billing", "returns", null, "billing", $"{TestModels.Name}:support", "returns"];
        string?[] adapterOf = [null, "support", "billing", "returns", null, "billing", "support", "returns"];

        var responses = await Task.WhenAll(prompts.Select((prompt, i) => server.PostAsync("/v1/completions", JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = modelField[i % 8],
            ["prompt"] = prompt,
            ["max_tokens"] = 10,
            ["temperature"] = 0,
        }))));

        for (int i = 0; i < prompts.Length; i++)
        {
            var (status, body) = responses[i];
            Assert.Equal(200, status);
            Assert.Equal(adapterOf[i % 8] ?? TestModels.Name, body.GetProperty("model").GetString());
            var alone = models.Alone(adapterOf[i % 8], prompts[i], Greedy with { MaxTokens = 10 });
            Assert.Equal(alone.Text, body.GetProperty("choices")[0].GetProperty("text").GetString());
        }

        // Two slots for three adapters: all three were loaded, two are resident; /health and /metrics say so.
        var health = await server.GetAsync("/health");
        Assert.Equal(["billing", "returns", "support"], health.GetProperty("adapters").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(2, health.GetProperty("resident_adapters").GetInt32());
        var metrics = MetricsTests.Parse(await server.Http.GetStringAsync("/metrics"));
        Assert.Equal((3, 2), (metrics["flm_lora_adapters"], metrics["flm_lora_resident_adapters"]));
        Assert.True(metrics["flm_lora_loads"] >= 3);
    }

    [Fact]
    public async Task Models_lists_each_adapter_under_its_base_and_an_unknown_one_is_a_404_in_openais_shape()
    {
        await using var server = await StartAsync();

        var data = (await server.GetAsync("/v1/models")).GetProperty("data");
        Assert.Equal([TestModels.Name, "billing", "returns", "support"], data.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(JsonValueKind.Null, data[0].GetProperty("parent").ValueKind);
        Assert.All(data.EnumerateArray().Skip(1), m => Assert.Equal(TestModels.Name, m.GetProperty("parent").GetString()));
        Assert.Equal(models.AdapterDirectory("billing"), data[1].GetProperty("root").GetString());
        Assert.Equal("support", (await server.GetAsync($"/v1/models/{TestModels.Name}:support")).GetProperty("id").GetString());

        var (status, body) = await server.PostAsync("/v1/chat/completions", new { model = "refunds", messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal(404, status);
        var error = body.GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("'refunds' does not exist", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The tutorial's /generate takes the same model names.
        var (generated, answer) = await server.PostAsync("/generate", new { prompt = "Where is my parcel?", model = $"{TestModels.Name}:support", max_tokens = 8, temperature = 0 });
        Assert.Equal(200, generated);
        using (var forGenerate = ServedModel.Load(models.BaseDirectory))
        {
            var generateIds = forGenerate.ChatPromptIds([("user", "Where is my parcel?")]);
            Assert.Equal(models.Alone("support", generateIds, new SamplingOptions { Temperature = 0, MaxTokens = 8 }).Text, answer.GetProperty("response").GetString());
        }

        // The official SDK, aimed at an adapter: the answer is the merged model's chat answer and names the adapter.
        var chat = new ChatClient("returns", new System.ClientModel.ApiKeyCredential("unused"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.Http.BaseAddress!, "/v1") });
        var completion = (await chat.CompleteChatAsync([new UserChatMessage("Where is my parcel?")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 })).Value;
        Assert.Equal("returns", completion.Model);
        using var served = ServedModel.Load(models.BaseDirectory);
        var ids = served.ChatPromptIds([("user", "Where is my parcel?")]);
        Assert.Equal(models.Alone("returns", ids, Greedy with { MaxTokens = 12, StopTokenIds = served.Model.EosTokenIds }).Text, completion.Content[0].Text);
    }

    [Fact]
    public async Task Adapters_load_and_unload_at_run_time_with_the_api_key_and_not_without_one()
    {
        await using (var open = await StartAsync())
        {
            using var refused = await open.Http.PostAsync("/v1/load_lora_adapter", Json(new { lora_name = "extra", lora_path = models.AdapterDirectory("returns") }));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        await using var server = await StartAsync(apiKey: "s3cret");
        using var loaded = await server.Http.PostAsync("/v1/load_lora_adapter", Json(new { lora_name = "extra", lora_path = models.AdapterDirectory("returns") }));
        Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        Assert.Equal("Success: LoRA adapter 'extra' added successfully.", await loaded.Content.ReadAsStringAsync());
        int[] prompt = [12, 80, 33, 9];
        var (status, body) = await server.PostAsync("/v1/completions", new { model = "extra", prompt, max_tokens = 6, temperature = 0 });
        Assert.Equal(200, status);
        Assert.Equal(models.Alone("returns", prompt, Greedy with { MaxTokens = 6 }).Text, body.GetProperty("choices")[0].GetProperty("text").GetString());

        using var again = await server.Http.PostAsync("/v1/load_lora_adapter", Json(new { lora_name = "extra", lora_path = models.AdapterDirectory("support") }));
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        using var bad = await server.Http.PostAsync("/v1/load_lora_adapter", Json(new { lora_name = "broken", lora_path = models.BaseDirectory }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("adapter_config.json", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unloaded = await server.Http.PostAsync("/v1/unload_lora_adapter", Json(new { lora_name = "extra" }));
        Assert.Equal(HttpStatusCode.OK, unloaded.StatusCode);
        Assert.Equal(404, (await server.PostAsync("/v1/completions", new { model = "extra", prompt, max_tokens = 6 })).Status);
        using var unknown = await server.Http.PostAsync("/v1/unload_lora_adapter", Json(new { lora_name = "extra" }));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
