using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary><c>flm serve</c> as a real process that gets SIGTERM while it streams.</summary>
public sealed class ServeSignalTests
{
    private static readonly string BaseModel = Path.Combine(RepoPaths.Samples, "base-model");

    [Fact]
    public async Task Sigterm_while_streams_run_ends_each_stream_cleanly_and_exits_0_within_the_grace_period()
    {
        using var serve = FlmProcess.Start(new Dictionary<string, string>(), "serve", "--model", BaseModel, "--port", "0");
        using var http = new HttpClient { BaseAddress = await serve.ServeAddressAsync(), Timeout = TimeSpan.FromMinutes(2) };
        var streams = new List<(HttpResponseMessage Response, Stream Body, StringBuilder Text)>();
        for (int i = 0; i < 3; i++)
        {
            var body = new JsonObject
            {
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"第 {i} 个问题：请问怎么退货？" }),
                ["max_tokens"] = 400,
                ["temperature"] = 0.8,
                ["seed"] = i,
                ["stream"] = true,
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.IsSuccessStatusCode, $"stream {i}: {(int)response.StatusCode}");
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            int read = await stream.ReadAsync(buffer);
            Assert.True(read > 0);
            streams.Add((response, stream, new StringBuilder(Encoding.UTF8.GetString(buffer, 0, read))));
        }

        int active = JsonNode.Parse(await http.GetStringAsync("/health"))!["active_sequences"]!.GetValue<int>();
        Assert.True(active > 0, "the streams are still decoding when the signal comes");
        var clock = Stopwatch.StartNew();
        using (Process.Start("kill", ["-TERM", serve.Id.ToString(CultureInfo.InvariantCulture)])) { }
        foreach (var (response, body, text) in streams)
        {
            using (response)
            using (var reader = new StreamReader(body))
            {
                try
                {
                    text.Append(await reader.ReadToEndAsync());
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    text.Append($"<connection cut: {e.Message}>");
                }
            }
            string all = text.ToString();
            // Finished within the grace period ([DONE]), or told why it stopped (an error event); never just cut.
            Assert.True(all.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal) || all.Contains("\"error\"", StringComparison.Ordinal),
                $"a stream ended without [DONE] or an error after SIGTERM: ...{all[^Math.Min(all.Length, 400)..]}");
        }
        int code = await serve.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"flm serve exited with {code}: {serve.Error}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"SIGTERM to exit took {clock.Elapsed} (grace period 30 s)");
    }
}
