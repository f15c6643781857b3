using System.Text.Json;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class TokenizeCommandTests
{
    public static TheoryData<string, int> TinyModelCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in new[] { "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-glm", "tiny-glm4" })
        {
            var cases = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "expected.json"))).RootElement.GetProperty("tokenize");
            for (var i = 0; i < cases.GetArrayLength(); i++)
                data.Add(model, i);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TinyModelCases))]
    public async Task Prints_the_llama_cpp_reference_ids_as_a_json_array(string model, int index)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "expected.json")))
            .RootElement.GetProperty("tokenize")[index];

        var run = await CliRun.Of("tokenize", "--model", RepoPaths.Fixture("models", model), "--text", expected.GetProperty("text").GetString()!);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), JsonSerializer.Deserialize<int[]>(run.Output)!);
        Assert.EndsWith("]\n", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Qwen3_chinese_text_matches_the_reference()
    {
        var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "expected.json")))
            .RootElement.GetProperty("cases")[0];

        var run = await CliRun.Of("tokenize", "--model", RepoPaths.Fixture("tokenizers", "qwen3"), "--text", expected.GetProperty("text").GetString()!);

        Assert.Equal($"[{string.Join(',', expected.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()))}]\n", run.Output);
    }

    public static TheoryData<int> SpmBpeCases() =>
        [.. Enumerable.Range(0, JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "spm-bpe", "expected.json")))
            .RootElement.GetProperty("cases").GetArrayLength())];

    [Theory]
    [MemberData(nameof(SpmBpeCases))]
    public async Task SentencePiece_style_tokenizer_prints_the_transformers_js_ids(int index)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "spm-bpe", "expected.json")))
            .RootElement.GetProperty("cases")[index];

        var run = await CliRun.Of("tokenize", "--model", RepoPaths.Fixture("tokenizers", "spm-bpe"), "--text", expected.GetProperty("text").GetString()!);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"[{string.Join(',', expected.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()))}]\n", run.Output);
    }

    [Fact]
    public async Task A_missing_model_is_unreadable_input()
    {
        var run = await CliRun.Of("tokenize", "--model", "/nonexistent/model", "--text", "hi");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("tokenizer.json", run.Error, StringComparison.Ordinal);
    }
}
