using System.Text.Json;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class CleanAndFormatCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-cli-");

    public void Dispose() => _dir.Dispose();

    private static string Sample(string name) => Path.Combine(RepoPaths.Samples, name);

    [Fact]
    public async Task Clean_keeps_all_bundled_samples_in_both_formats_and_leaves_the_input_untouched()
    {
        var before = File.ReadAllBytes(Sample("customer-service.json"));

        var jsonl = await CliRun.Of("clean", Sample("customer-service.jsonl"), "--out", Path.Combine(_dir, "a"));
        var array = await CliRun.Of("clean", Sample("customer-service.json"), "--out", Path.Combine(_dir, "b"));

        Assert.Equal((0, 0), (jsonl.ExitCode, array.ExitCode));
        Assert.Equal(before, File.ReadAllBytes(Sample("customer-service.json")));
        var records = File.ReadAllLines(Sample("customer-service.jsonl")).Length;
        Assert.True(records >= 200);
        Assert.Equal(records, File.ReadAllLines(Path.Combine(_dir, "a", "cleaned.jsonl")).Length);
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "a", "cleaned.jsonl")), File.ReadAllText(Path.Combine(_dir, "b", "cleaned.jsonl")));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "b", "report.json")));
        Assert.Equal("json_array", report.RootElement.GetProperty("kind").GetString());
        Assert.Equal(records, report.RootElement.GetProperty("recordsOut").GetInt32());
    }

    [Fact]
    public async Task Clean_reports_rejects_and_still_succeeds()
    {
        var run = await CliRun.Of("clean", Sample("dirty/syntax-errors.jsonl"), "--out", _dir);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("json_syntax", run.Output, StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_dir, "rejected.jsonl")).Length);
    }

    [Fact]
    public async Task Binary_input_exits_1_with_the_reason_and_writes_nothing()
    {
        var outDir = Path.Combine(_dir, "out");
        var run = await CliRun.Of("clean", Sample("dirty/binary.bin"), "--out", outDir);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("flm: The input is binary", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task An_empty_file_succeeds_with_a_warning()
    {
        var run = await CliRun.Of("clean", Sample("dirty/empty.jsonl"), "--out", _dir);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("no records", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_array_succeeds_with_a_warning_naming_line_and_column()
    {
        var run = await CliRun.Of("clean", Sample("dirty/truncated-array.json"), "--out", _dir);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("line 15, column", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("clean")]
    [InlineData("clean", "x.json")]
    [InlineData("clean", "x.json", "--out", "o", "--dedup", "fuzzy")]
    [InlineData("clean", "x.json", "--out", "o", "--min-output-chars", "ten")]
    [InlineData("format", "x.jsonl", "--out", "o")]
    [InlineData("format", "x.jsonl", "--out", "o", "--model", "m", "--template", "alpaca")]
    [InlineData("nonsense")]
    [InlineData]
    public async Task Usage_errors_exit_2(params string[] args)
    {
        var run = await CliRun.Of(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("flm --help", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Format_rejects_an_eval_fraction_of_one_as_usage()
    {
        var run = await CliRun.Of("format", Sample("customer-service.jsonl"), "--model", Sample("tokenizer"), "--out", _dir, "--eval-fraction", "1");

        Assert.Equal(2, run.ExitCode);
    }

    [Fact]
    public async Task Clean_then_format_with_the_chat_template_produces_train_and_eval_sets()
    {
        await CliRun.Of("clean", Sample("customer-service.jsonl"), "--out", _dir);
        var run = await CliRun.Of("format", Path.Combine(_dir, "cleaned.jsonl"), "--model", Sample("tokenizer"), "--out", _dir, "--template", "chat");

        Assert.Equal(0, run.ExitCode);
        var train = File.ReadAllLines(Path.Combine(_dir, "train.jsonl"));
        var eval = File.ReadAllLines(Path.Combine(_dir, "eval.jsonl"));
        Assert.Equal(File.ReadAllLines(Path.Combine(_dir, "cleaned.jsonl")).Length, train.Length + eval.Length);
        Assert.NotEmpty(eval);
        using var first = JsonDocument.Parse(train[0]);
        Assert.Equal(first.RootElement.GetProperty("input_ids").GetArrayLength(), first.RootElement.GetProperty("labels").GetArrayLength());
    }
}
