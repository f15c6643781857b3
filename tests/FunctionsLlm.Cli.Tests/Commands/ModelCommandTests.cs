using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Tests;
using static TorchSharp.torch;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class ModelCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-cli-model-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-glm")]
    [InlineData("tiny-glm4")]
    public async Task Logits_writes_one_f32_tensor_equal_to_llama_cpps(string model)
    {
        // expected.json case 1: input ids [..7 tokens..] → tensor logits_1; read the ids from the fixture's header.
        var expected = System.Text.Json.JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "expected.json")))
            .RootElement.GetProperty("logits")[1];
        string ids = string.Join(',', expected.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
        string outFile = Path.Combine(_dir, "logits.safetensors");

        var run = await CliRun.Of("logits", "--model", RepoPaths.Fixture("models", model), "--ids", ids, "--out", outFile);

        Assert.Equal(0, run.ExitCode);
        using var written = SafetensorsFile.Open(outFile);
        var info = Assert.Single(written.Tensors).Value;
        Assert.Equal(("logits", SafetensorsDType.F32), (info.Name, info.DType));
        using var reference = SafetensorsFile.Open(RepoPaths.Fixture("models", model, "expected_logits.safetensors"));
        using var actual = written.Read("logits");
        using var wanted = reference.Read(expected.GetProperty("tensor").GetString()!);
        TensorAssert.Close(wanted, actual, 1e-3, $"{model} logits against llama.cpp's");
    }

    [Theory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-glm")]
    [InlineData("tiny-glm4")]
    public async Task Greedy_generate_prints_the_continuation_of_the_reference_prompt_ids_and_streaming_prints_the_same(string name)
    {
        // The CLI's part is text → ids → text; the continuation itself is checked against llama.cpp in Modeling.Tests.
        string model = RepoPaths.Fixture("models", name);
        var reference = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "expected.json")))
            .RootElement.GetProperty("tokenize")[0];
        string prompt = reference.GetProperty("text").GetString()!;
        int[] promptIds = [.. reference.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        using var lm = ModelLoader.Load(model, new ModelLoadOptions(CPU, ScalarType.Float32));
        var tokenizer = HfTokenizer.Load(model);
        var expected = new TextGenerator(lm, tokenizer).Generate(promptIds, SamplingOptions.Greedy with { MaxTokens = 8 });

        var plain = await CliRun.Of("generate", "--model", model, "--prompt", prompt, "--temperature", "0", "--max-tokens", "8");
        var streamed = await CliRun.Of("generate", "--model", model, "--prompt", prompt, "--temperature", "0", "--max-tokens", "8", "--stream");

        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(expected.Text + "\n", plain.Output);
        Assert.Equal(plain.Output, streamed.Output);
        Assert.Contains($"[{promptIds.Length} prompt + {expected.TokenIds.Count} generated tokens, finish: {expected.FinishReason.ToString().ToLowerInvariant()}", plain.Error);
    }

    [Fact]
    public async Task Chat_generate_renders_the_template_before_generating()
    {
        var run = await CliRun.Of("generate", "--model", RepoPaths.Fixture("models", "tiny-qwen2"), "--prompt", "Where is my order?",
            "--chat", "--system", "You are a support agent.", "--max-tokens", "5", "--seed", "1");

        Assert.Equal(0, run.ExitCode);
        // <|im_start|>system\n…<|im_end|>\n<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n, counted by the tokenizer.
        var tokenizer = HfTokenizer.Load(RepoPaths.Fixture("models", "tiny-qwen2"));
        int promptTokens = tokenizer.Encode("<|im_start|>system\nYou are a support agent.<|im_end|>\n<|im_start|>user\nWhere is my order?<|im_end|>\n<|im_start|>assistant\n").Count;
        Assert.Contains($"[{promptTokens} prompt + ", run.Error);
    }

    [Theory]
    [InlineData("--top-p", "1.5", "top-p must be in (0, 1]")]
    [InlineData("--temperature", "-1", "temperature must be ≥ 0")]
    [InlineData("--max-tokens", "0", "max tokens must be at least 1")]
    public async Task Out_of_range_sampling_values_are_usage_errors(string option, string value, string message)
    {
        var run = await CliRun.Of("generate", "--model", RepoPaths.Fixture("models", "tiny-llama"), "--prompt", "hi", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Error);
    }

    [Fact]
    public async Task Logits_rejects_ids_outside_the_vocabulary_and_a_folder_without_a_model()
    {
        var outOfVocabulary = await CliRun.Of("logits", "--model", RepoPaths.Fixture("models", "tiny-llama"), "--ids", "1,512", "--out", Path.Combine(_dir, "x.safetensors"));
        Assert.Equal(2, outOfVocabulary.ExitCode);
        Assert.Contains("token id 512 is outside the vocabulary (0..511)", outOfVocabulary.Error);

        var noModel = await CliRun.Of("logits", "--model", _dir, "--ids", "1", "--out", Path.Combine(_dir, "x.safetensors"));
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains("config.json: not found", noModel.Error);
        Assert.False(File.Exists(Path.Combine(_dir, "x.safetensors")));
    }
}
