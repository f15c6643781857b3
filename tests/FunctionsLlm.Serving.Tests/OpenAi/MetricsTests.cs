using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Serving.Tests.OpenAi;

/// <summary><c>GET /metrics</c>: Prometheus' text format, the counts agreeing with what the API answered.</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task Metrics_count_the_tokens_the_api_reported_and_sit_behind_the_key()
    {
        await using var server = await Server.StartAsync(apiKey: "k3y");
        int promptTokens = 0, completionTokens = 0;
        for (int i = 0; i < 3; i++)
        {
            var (status, body) = await server.PostAsync("/v1/completions", new { prompt = $"question {i}", max_tokens = 4, temperature = 0 });
            Assert.Equal(200, status);
            promptTokens += body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
            completionTokens += body.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        }

        using var response = await server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        var metrics = Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(promptTokens, metrics["flm_prompt_tokens_total"]);
        Assert.Equal(completionTokens, metrics["flm_generation_tokens_total"]);
        Assert.Equal(3, metrics["flm_time_to_first_token_seconds_count"]);
        Assert.Equal(completionTokens - 3, metrics["flm_inter_token_latency_seconds_count"]);
        Assert.Equal(3, metrics["flm_request_success_total{finished_reason=\"length\"}"]);
        Assert.Equal(0, metrics["flm_num_requests_running"]);
        Assert.Equal(0, metrics["flm_num_requests_waiting"]);
        Assert.Equal(0, metrics["flm_kv_cache_usage_perc"]);
        Assert.Equal(1, metrics[$"flm_model_info{{model_name=\"{TestModels.Name}\"}}"]);
        Assert.True(metrics["flm_time_to_first_token_seconds_sum"] > 0);

        using var anonymous = new HttpClient { BaseAddress = server.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
    }

    /// <summary>Sample lines of the text exposition format: <c>name{labels} value</c>, comments skipped.</summary>
    internal static Dictionary<string, double> Parse(string text) =>
        text.Split('\n').Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => SampleLine().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);

    [GeneratedRegex(@"^(\S+(?:\{[^}]*\})?) (\S+)$")]
    private static partial Regex SampleLine();
}
