using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary>
/// The GC stress harness of issue 23: train, merge, eval, generate and serve as real processes with optimized code from
/// the first call (<c>DOTNET_TieredCompilation=0</c>: the JIT ends a local's life at its last use, as ReadyToRun and tier-1
/// code do) and <c>FLM_GC_STRESS=1</c> (a thread that collects and runs finalizers in a loop). A TorchSharp wrapper
/// that nothing owns is then freed during its native call within a few steps; before the fix, training died this way
/// at the first steps (ExternalException "Unknown scalar type" or SIGSEGV), as ./flm pipeline did at step 18.
/// </summary>
public sealed class GcStressTests : IDisposable
{
    private static readonly Dictionary<string, string> Stress = new() { ["FLM_GC_STRESS"] = "1", ["DOTNET_TieredCompilation"] = "0" };
    private static readonly string BaseModel = Path.Combine(RepoPaths.Samples, "base-model");
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private readonly TempFolder _dir = new("flm-gc-stress-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Train_merge_eval_and_generate_run_to_the_end_under_gc_stress()
    {
        string data = await Formatted();
        string run = Path.Combine(_dir, "run"), merged = Path.Combine(_dir, "merged");

        await Succeeds("train", "--model", BaseModel, "--data", data, "--out", run, "--max-steps", "24", "--batch-size", "2",
            "--grad-accum", "2", "--save-steps", "12", "--eval-steps", "12", "--max-seq-len", "128");
        await Succeeds("merge", "--model", BaseModel, "--adapter", Path.Combine(run, "adapter"), "--out", merged);
        await Succeeds("eval", "--base", BaseModel, "--model", merged, "--data", Path.Combine(data, "eval.jsonl"), "--out", Path.Combine(_dir, "eval"),
            "--limit", "4", "--batch-size", "2", "--max-tokens", "16", "--temperature", "0.8", "--top-p", "0.9", "--seed", "1");
        var generated = await Succeeds("generate", "--model", merged, "--chat", "--prompt", "请问怎么退货？", "--max-tokens", "24",
            "--temperature", "0.8", "--top-k", "20", "--repetition-penalty", "1.3", "--seed", "3", "--stream");

        Assert.True(File.Exists(Path.Combine(merged, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(_dir, "eval", "report.md")));
        Assert.NotEmpty(generated.Trim());
    }

    [Fact]
    public async Task Serve_answers_concurrent_and_abandoned_streams_under_gc_stress_and_exits_0_on_sigterm()
    {
        using var serve = FlmProcess.Start(Stress, "serve", "--model", BaseModel, "--port", "0", "--api-key", "k3y", "--max-concurrency", "4");
        var address = await serve.ServeAddressAsync();
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "k3y");

        var completed = Enumerable.Range(0, 12).Select(i => CompleteAsync(http, i, stream: i % 2 == 0)).ToArray();
        var abandoned = Enumerable.Range(0, 2).Select(i => AbandonAsync(http, i)).ToArray();
        string[] answers = await Task.WhenAll(completed);
        await Task.WhenAll(abandoned);

        Assert.All(answers, Assert.NotEmpty);
        using (var health = await http.GetAsync("/health"))
            Assert.True(health.IsSuccessStatusCode, $"health: {(int)health.StatusCode}");
        using (Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) { }
        int code = await serve.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"flm serve exited with {code}: {serve.Error}");
    }

    private static async Task<string> CompleteAsync(HttpClient http, int i, bool stream)
    {
        using var response = await http.PostAsync("/v1/chat/completions", Body(i, stream, maxTokens: 16));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"request {i}: {(int)response.StatusCode} {text}");
        return text;
    }

    // Reads the first chunk of a long stream, then goes away: the server must free the row and carry on.
    private static async Task AbandonAsync(HttpClient http, int i)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(100 + i, stream: true, maxTokens: 200) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"abandoned request {i}: {(int)response.StatusCode}");
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        Assert.True(await body.ReadAsync(buffer) > 0);
    }

    private static StringContent Body(int i, bool stream, int maxTokens) => new(new JsonObject
    {
        ["model"] = "base-model",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"第 {i} 个问题：请问怎么退货？" }),
        ["max_tokens"] = maxTokens,
        ["temperature"] = i % 3 == 0 ? 0 : 0.8,
        ["top_p"] = 0.9,
        ["seed"] = i,
        ["stream"] = stream,
    }.ToJsonString(), Encoding.UTF8, "application/json");

    private async Task<string> Formatted()
    {
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);
        Assert.Equal(0, (await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", BaseModel, "--template", "chat", "--out", data)).ExitCode);
        return data;
    }

    private static async Task<string> Succeeds(params string[] args)
    {
        var (code, output, error) = await FlmProcess.RunAsync(Stress, Limit, args);
        Assert.True(code == 0, $"flm {args[0]} under GC stress exited with {code}:\n{Tail(error)}");
        return output;
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}
