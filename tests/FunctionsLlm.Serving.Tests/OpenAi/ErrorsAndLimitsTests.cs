using System.Net;
using System.Text.Json;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.Tests.OpenAi;

public class ErrorsAndLimitsTests
{
    [Theory]
    [InlineData("{\"messages\": [", 400, null)]
    [InlineData("", 400, null)]
    [InlineData("[1, 2]", 400, null)]
    [InlineData("{}", 400, "messages")]
    [InlineData("{\"messages\": []}", 400, "messages")]
    [InlineData("{\"messages\": \"hi\"}", 400, "messages")]
    [InlineData("{\"messages\": [{\"role\": \"user\"}]}", 400, "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", 400, "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": 42}]}", 400, "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", 400, "messages[0].content[0].type")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": \"hot\"}", 400, "temperature")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": 3}", 400, "temperature")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 0}", 400, "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 100000}", 400, "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": [1]}", 400, "stop")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}", 400, "n")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2}", 400, "top_logprobs")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": \"yes\"}", 400, "stream")]
    [InlineData("{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", 404, "model")]
    public async Task Bad_chat_requests_get_an_openai_error_naming_the_parameter_and_the_server_stays_up(string json, int status, string? param)
    {
        await using var server = await Server.StartAsync();

        var (actual, body) = await server.PostAsync("/v1/chat/completions", json);

        Assert.Equal(status, actual);
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").ValueKind == JsonValueKind.Null ? null : error.GetProperty("param").GetString());
        Assert.Equal("ok", (await server.GetAsync("/health")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_with_context_length_exceeded()
    {
        await using var server = await Server.StartAsync(new EngineOptions { ContextLength = 64 });
        string longText = string.Concat(Enumerable.Repeat("这是一个很长的问题。", 40));

        var (status, body) = await server.PostAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = longText } } });

        Assert.Equal(400, status);
        Assert.Equal("context_length_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("maximum context length is 64 tokens", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Bad_completion_prompts_are_refused()
    {
        await using var server = await Server.StartAsync();
        foreach (var (json, message) in new[]
        {
            ("{\"prompt\": [1, \"a\"]}", "integer token ids"),
            ("{\"prompt\": [1, 99999]}", "outside the vocabulary"),
            ("{\"prompt\": []}", "must not be empty"),
            ("{\"prompt\": {}}", "must be a string"),
            ("{\"prompt\": \"hi\", \"echo\": true}", "'echo' is not supported"),
        })
        {
            var (status, body) = await server.PostAsync("/v1/completions", json);
            Assert.Equal(400, status);
            Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task When_every_row_and_queue_slot_is_taken_requests_get_429_with_retry_after_and_a_cancelled_stream_frees_its_row()
    {
        using var model = TestModels.LongContextCopy();
        await using var server = await Server.StartAsync(new EngineOptions { MaxConcurrentSequences = 1, MaxQueuedRequests = 0, RetryAfterSeconds = 2, MaxTokensCap = 4000 },
            modelDirectory: model);
        using var streaming = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = CompletionsTests.JsonContent("""{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4000, "stream": true}"""),
        };
        var response = await server.Http.SendAsync(streaming, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("data: ", await reader.ReadLineAsync());

        using var refused = await server.Http.PostAsync("/v1/chat/completions",
            CompletionsTests.JsonContent("""{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_error", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        // The client hangs up mid-stream: its sequence is cancelled and the row serves the next request.
        reader.Dispose();
        response.Dispose();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(50);
            using var next = await server.Http.PostAsync("/v1/chat/completions",
                CompletionsTests.JsonContent("""{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}"""));
            status = next.StatusCode;
        }
        while (status == HttpStatusCode.TooManyRequests && clock.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, server.Engines.Current!.ActiveSequences);
        Directory.Delete(model, recursive: true);
    }

    /// <summary>
    /// Bodies over 8 MiB, announced by Content-Length or streamed without one (chunked), get 413 with the OpenAI error
    /// shape on every JSON route, and the server answers a valid request afterwards.
    /// </summary>
    [Theory]
    [InlineData("/v1/chat/completions", true)]
    [InlineData("/v1/chat/completions", false)]
    [InlineData("/v1/completions", true)]
    [InlineData("/v1/completions", false)]
    [InlineData("/generate", true)]
    [InlineData("/generate", false)]
    public async Task A_body_over_8_MiB_is_a_413_with_the_error_shape_and_the_server_stays_up(string route, bool withLength)
    {
        await using var server = await Server.StartAsync();
        byte[] body = System.Text.Encoding.UTF8.GetBytes($"{{\"prompt\": \"{new string('a', (8 << 20) + 1024)}\"}}");
        using HttpContent content = withLength ? new ByteArrayContent(body) : new StreamContent(new UnseekableStream(body));
        content.Headers.ContentType = new("application/json");

        using var response = await server.Http.PostAsync(route, content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains("8 MiB", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        var (status, answer) = await server.PostAsync("/generate", new { prompt = "hi", max_tokens = 2 });
        Assert.Equal(200, status);
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("response").GetString()));
    }


    /// <summary>
    /// Every route the API maps (read from the routing of an app built with <c>MapServingApi</c>, so a new route is
    /// covered without editing this test) refuses a missing and a wrong key; only the listed probe is open.
    /// </summary>
    [Fact]
    public async Task With_an_api_key_every_mapped_route_but_the_probe_refuses_a_missing_or_wrong_key()
    {
        string[] open = ["/health"];
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        await using var mapped = builder.Build();
        FunctionsLlm.Serving.Hosting.ServingEndpoints.MapServingApi(mapped);
        var routes = ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)mapped).DataSources.SelectMany(d => d.Endpoints)
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .SelectMany(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods
                .Select(m => (Method: m, Path: "/" + e.RoutePattern.RawText!.TrimStart('/').Replace("{id}", TestModels.Name, StringComparison.Ordinal))))
            .ToList();
        Assert.True(routes.Count >= 6, $"{routes.Count} routes mapped");
        await using var server = await Server.StartAsync(apiKey: "s3cret");

        var answeredWithoutKey = new List<string>();
        foreach (var (method, path) in routes)
        {
            foreach (string? key in new[] { null, "wrong" })
            {
                using var client = new HttpClient { BaseAddress = server.Http.BaseAddress };
                if (key is not null)
                    client.DefaultRequestHeaders.Authorization = new("Bearer", key);
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json") : null };
                using var response = await client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Unauthorized)
                {
                    answeredWithoutKey.Add(path);
                    continue;
                }
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
            }
        }
        Assert.Equal(open.SelectMany(p => new[] { p, p }), answeredWithoutKey);
    }

    [Fact]
    public async Task With_an_api_key_every_route_but_health_needs_the_bearer_token()
    {
        await using var server = await Server.StartAsync(apiKey: "s3cret");
        using var anonymous = new HttpClient { BaseAddress = server.Http.BaseAddress };

        using var missing = await anonymous.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("invalid_api_key", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);

        var models = await server.GetAsync("/v1/models");
        Assert.Equal(TestModels.Name, models.GetProperty("data")[0].GetProperty("id").GetString());
        var completion = await server.Chat.CompleteChatAsync([new OpenAI.Chat.UserChatMessage("hi")],
            new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 3, Temperature = 0 });
        Assert.Equal(3, completion.Value.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Generate_answers_a_prompt_like_the_tutorial_api()
    {
        await using var server = await Server.StartAsync();
        using var served = TestModels.Load();
        var reference = TestModels.Alone(served.ChatPromptIds([("user", "退货流程是什么？")]),
            Modeling.Generation.SamplingOptions.Greedy with { MaxTokens = 10 });

        var (status, body) = await server.PostAsync("/generate", new { prompt = "退货流程是什么？", temperature = 0, max_tokens = 10 });

        Assert.Equal(200, status);
        Assert.Equal(reference.Text, body.GetProperty("response").GetString());
        Assert.Equal(400, (await server.PostAsync("/generate", new { text = "hi" })).Status);
    }
}
