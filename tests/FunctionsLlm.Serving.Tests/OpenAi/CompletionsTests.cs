using System.Text.Json;
using FunctionsLlm.Modeling.Checkpoints;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary>
/// <c>/v1/completions</c> over raw HTTP: the OpenAI .NET SDK 2.15 has no public client for the legacy completions
/// API (its LegacyCompletionClient is internal), so the request is the JSON any client sends.
/// </summary>
public class CompletionsTests
{
    [Fact]
    public async Task Token_id_prompts_give_llama_cpps_greedy_continuation_and_log_probabilities()
    {
        var fixture = FixtureModel.Get(TestModels.Name);
        var (inputIds, tensorName) = fixture.LogitCases[0];
        var (promptIds, greedyIds) = fixture.GreedyCases[0];
        await using var server = await Server.StartAsync();
        using var served = TestModels.Load();

        var (status, body) = await server.PostAsync("/v1/completions", new
        {
            model = TestModels.Name,
            prompt = new[] { inputIds, promptIds },
            max_tokens = greedyIds.Length,
            temperature = 0,
            logprobs = 5,
        });

        Assert.Equal(200, status);
        var choices = body.GetProperty("choices");
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(served.Tokenizer.Decode(greedyIds, skipSpecialTokens: true), choices[1].GetProperty("text").GetString());

        // The first generated token's top-5 log-probabilities are log-softmax of llama.cpp's logits at the last prompt position.
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var logits = expected.Read(tensorName);
        using var logProbabilities = logits[-1].to(ScalarType.Float32).log_softmax(0);
        var (values, indices) = logProbabilities.topk(5);
        var top = choices[0].GetProperty("logprobs").GetProperty("top_logprobs")[0];
        float[] expectedValues = values.data<float>().ToArray();
        long[] expectedIds = indices.data<long>().ToArray();
        for (int k = 0; k < 5; k++)
        {
            string token = served.Tokenizer.Decode([(int)expectedIds[k]]);
            Assert.True(top.TryGetProperty(token, out var value), $"top_logprobs lacks '{token}'");
            Assert.Equal(expectedValues[k], value.GetSingle(), fixture.Tolerance);
        }
        float chosen = choices[0].GetProperty("logprobs").GetProperty("token_logprobs")[0].GetSingle();
        Assert.Equal(expectedValues[0], chosen, fixture.Tolerance);
        var usage = body.GetProperty("usage");
        Assert.Equal(inputIds.Length + promptIds.Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2 * greedyIds.Length, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_text_prompt_streams_text_completion_chunks()
    {
        await using var server = await Server.StartAsync();
        using var served = TestModels.Load();
        var reference = TestModels.Alone(served.Tokenizer.Encode("您好，这款产品", addSpecialTokens: true),
            Modeling.Generation.SamplingOptions.Greedy with { MaxTokens = 15 });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent("""{"prompt": "您好，这款产品", "max_tokens": 15, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}"""),
        };
        using var response = await server.Http.SendAsync(request);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(reference.Text, text);
        Assert.Equal(15, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    internal static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
