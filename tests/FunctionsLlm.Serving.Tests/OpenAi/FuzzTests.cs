using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary>
/// Thousands of seeded mutations of valid bodies (<see cref="JsonFuzz"/>) against every JSON route of the API over real
/// HTTP: each answer is a 4xx with OpenAI's error shape or a 2xx (JSON, or an SSE stream that ends with [DONE]), never a
/// 5xx or a dropped connection, and the server answers a valid request at the end.
/// </summary>
public sealed class FuzzTests
{
    private static readonly (string Route, string[] Bodies)[] Routes =
    [
        ("/v1/chat/completions", [
            """{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "temperature": 0}""",
            """{"model": "tiny-qwen3", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 2, "stream": true, "stop": ["x"], "seed": 1}""",
        ]),
        ("/v1/completions", [
            """{"prompt": "hi", "max_tokens": 2, "temperature": 0, "logprobs": 1}""",
            """{"prompt": [[1, 2, 3], "b"], "max_tokens": 2, "stream": true, "top_p": 0.9}""",
        ]),
        ("/generate", ["""{"prompt": "hi", "max_tokens": 2, "temperature": 0.7, "top_p": 0.9, "seed": 3}"""]),
    ];

    [Fact]
    public async Task Mutated_bodies_get_a_4xx_with_the_error_shape_or_a_2xx_and_never_break_the_server()
    {
        await using var server = await Server.StartAsync();
        var fuzzers = Routes.Select((r, i) => (r.Route, Fuzz: new JsonFuzz(seed: 2026 + i, r.Bodies))).ToArray();
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        int sent = 0;
        var statuses = new SortedDictionary<int, int>();
        for (; sent < 3000 && clock.Elapsed < TimeSpan.FromSeconds(60); sent++)
        {
            var (route, fuzz) = fuzzers[random.Next(fuzzers.Length)];
            var (mutation, body) = fuzz.Next();
            string what = $"#{sent} {route} ({mutation}): {System.Text.Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 300)]}";
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            HttpResponseMessage response;
            try
            {
                response = await server.Http.PostAsync(route, content);
            }
            catch (HttpRequestException e)
            {
                throw new Xunit.Sdk.XunitException($"the connection broke on {what}: {e.Message}");
            }
            using (response)
            {
                int status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(status is >= 200 and < 300 or >= 400 and < 500, $"{status} on {what}: {text}");
                if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
                {
                    Assert.True(text.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal), $"an unfinished stream on {what}: {text}");
                    continue;
                }
                using var json = JsonDocument.Parse(text);
                if (status >= 400)
                {
                    var error = json.RootElement.GetProperty("error");
                    Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), what);
                    Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
                }
            }
        }

        Assert.True(sent >= 500, $"only {sent} bodies in the time allowed");
        Assert.True(statuses.Keys.Any(s => s < 300) && statuses.Keys.Any(s => s >= 400), string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
        var (okStatus, answer) = await server.PostAsync("/generate", new { prompt = "hi", max_tokens = 2 });
        Assert.Equal(200, okStatus);
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("response").GetString()));
        Assert.Equal(0, (await server.GetAsync("/health")).GetProperty("active_sequences").GetInt32());
    }
}
