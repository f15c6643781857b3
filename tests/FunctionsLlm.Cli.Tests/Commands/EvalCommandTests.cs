using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class EvalCommandTests : IDisposable
{
    private static readonly string Base = RepoPaths.Fixture("models", "tiny-qwen2");

    private readonly TempFolder _dir = new("flm-cli-eval-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Eval_writes_json_markdown_html_and_the_loss_curve()
    {
        string tuned = CopyOfBase();
        string data = EvalData();
        string metrics = Path.Combine(_dir, "metrics.jsonl");
        File.WriteAllLines(metrics,
        [
            """{"step":1,"epoch":0.5,"loss":6.3,"learning_rate":0.0002,"grad_norm":1.5,"tokens_per_second":800}""",
            """{"step":2,"epoch":1.0,"loss":5.9,"learning_rate":0.0001,"grad_norm":1.2,"tokens_per_second":820}""",
            """{"step":2,"epoch":1.0,"eval_loss":6.1,"eval_perplexity":445.9}""",
        ]);
        string outDir = Path.Combine(_dir, "report");

        var run = await CliRun.Of("eval", "--base", Base, "--model", tuned, "--data", data, "--out", outDir,
            "--metrics", metrics, "--max-tokens", "8");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["loss.png", "report.html", "report.json", "report.md"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
        Assert.StartsWith("2 records; greedy, at most 8 tokens, seed 0\nmodel       eval loss  perplexity  exact match  ROUGE-L  BLEU-4\nbase  ", run.Output);
        Assert.Contains("\nwrote " + Path.Combine(outDir, "report.html") + "\n", run.Output);

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "report.json")));
        var root = json.RootElement;
        Assert.Equal((Base, tuned), (root.GetProperty("baseModel").GetString(), root.GetProperty("fineTunedModel").GetString()));
        Assert.Equal(2, root.GetProperty("recordCount").GetInt32());
        Assert.Equal(8, root.GetProperty("sampling").GetProperty("maxTokens").GetInt32());
        Assert.True(root.GetProperty("sampling").GetProperty("greedy").GetBoolean());
        // The same weights as base and fine-tuned: the same loss, answers and scores.
        foreach (string field in new[] { "evalLoss", "perplexity", "exactMatch", "rougeL", "bleu4", "bleu4SentenceMean" })
            Assert.Equal(root.GetProperty("base").GetProperty(field).GetDouble(), root.GetProperty("fineTuned").GetProperty(field).GetDouble());
        // Record 1's reference is llama.cpp's greedy continuation of its prompt: matched exactly.
        var first = root.GetProperty("records")[0];
        foreach (string model in new[] { "base", "fineTuned" })
        {
            var answer = first.GetProperty(model);
            Assert.Equal(first.GetProperty("reference").GetString(), answer.GetProperty("text").GetString());
            Assert.True(answer.GetProperty("exactMatch").GetBoolean());
            Assert.Equal((1.0, 1.0), (answer.GetProperty("rougeL").GetDouble(), answer.GetProperty("bleu4").GetDouble()));
        }
        Assert.Equal(root.GetProperty("records")[1].GetProperty("base").GetProperty("text").GetString(),
            root.GetProperty("records")[1].GetProperty("fineTuned").GetProperty("text").GetString());
        Assert.Equal("您好，七天内可以申请退货。", root.GetProperty("records")[1].GetProperty("reference").GetString());
        var curve = root.GetProperty("lossCurve");
        Assert.Equal("loss.png", curve.GetProperty("image").GetString());
        Assert.Equal(2, curve.GetProperty("train").GetArrayLength());
        Assert.Equal(6.1, curve.GetProperty("eval")[0].GetProperty("loss").GetDouble());

        Assert.Contains("<img src=\"loss.png\"", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
        Assert.Contains("您好，七天内可以申请退货。", File.ReadAllText(Path.Combine(outDir, "report.md")), StringComparison.Ordinal);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(outDir, "loss.png"))[..4]);
    }

    [Fact]
    public async Task Without_metrics_there_is_no_png_and_the_report_says_so()
    {
        string outDir = Path.Combine(_dir, "report");

        var run = await CliRun.Of("eval", "--base", Base, "--model", Base, "--data", EvalData(), "--out", outDir, "--max-tokens", "2", "--limit", "1");

        Assert.Equal(0, run.ExitCode);
        Assert.False(File.Exists(Path.Combine(outDir, "loss.png")));
        Assert.Contains("No loss curve: no training metrics (metrics.jsonl) were given.", File.ReadAllText(Path.Combine(outDir, "report.md")), StringComparison.Ordinal);
        Assert.Contains("No loss curve: no training metrics (metrics.jsonl) were given.\n", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "report.json")));
        Assert.Equal(1, json.RootElement.GetProperty("recordCount").GetInt32());
        Assert.False(json.RootElement.GetProperty("lossCurve").TryGetProperty("image", out _));
    }

    [Fact]
    public async Task A_missing_data_file_is_an_input_error()
    {
        string data = Path.Combine(_dir, "missing.jsonl");
        var run = await Eval("--data", data);
        Assert.Equal((1, $"flm: {data}: not found\n"), (run.ExitCode, run.Error));
    }

    [Fact]
    public async Task A_broken_data_line_is_an_input_error()
    {
        string data = Path.Combine(_dir, "eval.jsonl");
        File.WriteAllText(data, "{\"input_ids\":[1,2],\"labels\":[-100,2]}\n{\"input_ids\": [1,\n");
        var run = await Eval("--data", data);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"flm: {data}:2: not a formatted record: ", run.Error);
    }

    [Fact]
    public async Task A_missing_metrics_file_is_an_input_error_found_before_any_model_runs()
    {
        string metrics = Path.Combine(_dir, "metrics.jsonl");
        var run = await Eval("--data", EvalData(), "--metrics", metrics);
        Assert.Equal((1, $"flm: {metrics}: not found\n"), (run.ExitCode, run.Error));
    }

    [Fact]
    public async Task A_model_folder_without_a_model_is_an_input_error()
    {
        var run = await CliRun.Of("eval", "--base", _dir, "--model", Base, "--data", EvalData(), "--out", Path.Combine(_dir, "r"));
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("flm: ", run.Error);
        Assert.Contains("config.json", run.Error);
    }

    [Theory]
    [InlineData("--temperature", "-1", "temperature must be ≥ 0, got -1")]
    [InlineData("--top-p", "0", "top-p must be in (0, 1], got 0")]
    [InlineData("--max-tokens", "0", "max tokens must be at least 1, got 0")]
    [InlineData("--batch-size", "0", "batch size must be at least 1, got 0")]
    [InlineData("--limit", "0", "the record limit must be at least 1, got 0")]
    public async Task Out_of_range_options_are_usage_errors(string option, string value, string message)
    {
        var run = await Eval("--data", EvalData(), option, value);
        Assert.Equal((2, $"flm: {message}\n"), (run.ExitCode, run.Error));
    }

    [Fact]
    public async Task The_four_folders_are_required()
    {
        var run = await CliRun.Of("eval", "--base", Base, "--model", Base, "--data", EvalData());
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--out", run.Error);
    }

    private Task<CliRun> Eval(params string[] extra) =>
        CliRun.Of(["eval", "--base", Base, "--model", Base, "--out", Path.Combine(_dir, "report"), .. extra]);

    private string CopyOfBase()
    {
        string copy = Directory.CreateDirectory(Path.Combine(_dir, "tuned")).FullName;
        foreach (string file in Directory.GetFiles(Base))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }

    /// <summary>
    /// Two records: llama.cpp's greedy continuation of a prompt (expected.json) as the answer, and a ChatML exchange
    /// tokenized by the model's tokenizer; both answers end with &lt;|im_end|&gt; (511).
    /// </summary>
    private string EvalData()
    {
        string path = Path.Combine(_dir, "eval.jsonl");
        if (File.Exists(path))
            return path;
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Base, "expected.json")));
        var greedy = fixture.RootElement.GetProperty("greedy")[0];
        int[] prompt = [.. greedy.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32())];
        int[] answer = [.. greedy.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()), 511];
        var tokenizer = HfTokenizer.Load(Base);
        int[] chatPrompt = [.. tokenizer.Encode("<|im_start|>user\n请问怎么退货？<|im_end|>\n<|im_start|>assistant\n")];
        int[] chatAnswer = [.. tokenizer.Encode("您好，七天内可以申请退货。"), 511];
        File.WriteAllLines(path,
        [
            Line(prompt, answer, 1),
            Line(chatPrompt, chatAnswer, 2),
        ]);
        return path;
    }

    private static string Line(int[] prompt, int[] answer, int line) =>
        $"{{\"input_ids\":[{string.Join(',', prompt.Concat(answer))}],\"labels\":[{string.Join(',', prompt.Select(_ => -100).Concat(answer))}],\"line\":{line},\"coverage\":1.0}}";
}
