using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary>
/// flm export-gguf end to end on what flm merge writes. llama.cpp's reading of the files is checked in
/// Modeling.Tests (GgufExporterTests); here the command, its files and its refusals.
/// </summary>
public sealed class ExportGgufCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-cli-gguf-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_merged_model_exports_with_an_ollama_modelfile()
    {
        string model = RepoPaths.Fixture("models", "tiny-qwen2");
        string adapter = _dir.File("adapter"), merged = _dir.File("merged"), gguf = _dir.File("out", "support-q8_0.gguf");
        RandomAdapter.Write(model, adapter, new LoraConfig { R = 4, LoraAlpha = 8 }, seed: 3);
        Assert.Equal(0, (await CliRun.Of("merge", "--model", model, "--adapter", adapter, "--out", merged)).ExitCode);

        var run = await CliRun.Of("export-gguf", "--model", merged, "--out", gguf, "--ollama");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith($"wrote {gguf}: qwen2, ", run.Output);
        Assert.Contains(" tensors, Q8_0 weights, ", run.Output);
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(gguf).AsSpan(0, 4).ToArray());
        string modelfile = await File.ReadAllTextAsync(_dir.File("out", "Modelfile"));
        Assert.StartsWith("FROM ./support-q8_0.gguf\nTEMPLATE \"\"\"", modelfile);
        Assert.Contains("<|im_start|>{{ .Role }}", modelfile);
        Assert.Contains("PARAMETER stop \"<|im_end|>\"\n", modelfile);
        Assert.Contains("PARAMETER temperature 0\n", modelfile); // generation_config.json: do_sample false
        Assert.Contains("(chat format chatml)", run.Output);
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task A_tokenizer_llama_cpp_cannot_reproduce_is_refused_and_nothing_is_written()
    {
        string model = FixtureModel.Get("tiny-llama").CopyTo(_dir.File("model"));
        var tokenizer = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(model, "tokenizer.json")))!;
        tokenizer["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = @"\p{L}+|\p{N}+|\s+|[^\s\p{L}\p{N}]+";
        await File.WriteAllTextAsync(Path.Combine(model, "tokenizer.json"), tokenizer.ToJsonString());

        var run = await CliRun.Of("export-gguf", "--model", model, "--out", _dir.File("model.gguf"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("llama.cpp has no pre-tokenizer known to split as this tokenizer.json does", run.Error);
        Assert.False(File.Exists(_dir.File("model.gguf")));
        Assert.DoesNotContain(Directory.EnumerateFiles(_dir), f => f.Contains(".tmp", StringComparison.Ordinal));
    }
}
