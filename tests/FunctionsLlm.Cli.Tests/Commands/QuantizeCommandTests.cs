using System.ClientModel;
using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using OpenAI;
using OpenAI.Chat;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary>
/// QLoRA from the command line: flm quantize writes a bnb-4bit folder that generate and serve run on; flm train
/// --quantize nf4 trains a normal PEFT adapter over a 4-bit base, which merges into the original base, or into the 4-bit
/// one (dequantized, as the merge says).
/// </summary>
public sealed class QuantizeCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-quantize-cli-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Quantize_writes_a_4_bit_model_that_generate_and_serve_run_on()
    {
        string model = RepoPaths.Fixture("models", "tiny-qwen2"), quantized = Path.Combine(_dir, "nf4");
        var quantize = await CliRun.Of("quantize", "--model", model, "--out", quantized, "--type", "nf4", "--double-quant");
        Assert.True(quantize.ExitCode == 0, quantize.Error + quantize.Output);
        Assert.StartsWith($"quantized 14 linear weights to nf4 (blocks of 64, double quantization) into {quantized}\ntensors: ", quantize.Output);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(quantized, "config.json")))!["quantization_config"]!;
        Assert.Equal(("bitsandbytes", true, true), ((string?)config["quant_method"], (bool)config["load_in_4bit"]!, (bool)config["bnb_4bit_use_double_quant"]!));
        using (var checkpoint = CheckpointReader.Open(quantized))
            Assert.Contains("model.layers.0.self_attn.q_proj.weight.nested_absmax", checkpoint.Names);

        var generate = await CliRun.Of("generate", "--model", quantized, "--chat", "--prompt", "您好，这款产品", "--temperature", "0", "--max-tokens", "8");
        Assert.True(generate.ExitCode == 0, generate.Error);

        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(() => FlmCli.RunAsync(["serve", "--model", quantized, "--port", "0"], synchronizedOutput, error, stop.Token));
        var address = await ServeCommandTests.AddressAsync(synchronizedOutput, output, serve);
        var chat = new ChatClient("nf4", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("您好，这款产品")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8 });
        Assert.Equal(generate.Output[..^1], completion.Content[0].Text);
        stop.Cancel();
        Assert.Equal(0, await serve);
    }

    [Fact]
    public async Task Train_quantize_nf4_trains_an_adapter_that_merges_into_the_original_or_the_4_bit_base()
    {
        string model = RepoPaths.Fixture("models", "tiny-llama");
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data"), run = Path.Combine(_dir, "run");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);
        Assert.Equal(0, (await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", model, "--template", "chat", "--out", data)).ExitCode);

        var train = await CliRun.Of("train", "--model", model, "--data", data, "--out", run, "--quantize", "nf4", "--target-modules", "all-linear",
            "--lora-r", "4", "--lr", "0.01", "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--save-steps", "2", "--eval-steps", "2", "--max-seq-len", "96");
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        Assert.Contains($"QLoRA (4-bit base) training of {model}", train.Output);

        var intoOriginal = await CliRun.Of("merge", "--model", model, "--adapter", Path.Combine(run, "adapter"), "--out", Path.Combine(_dir, "merged"));
        Assert.True(intoOriginal.ExitCode == 0, intoOriginal.Error + intoOriginal.Output);
        Assert.StartsWith("merged 14 layers into ", intoOriginal.Output);

        string quantized = Path.Combine(_dir, "nf4");
        Assert.Equal(0, (await CliRun.Of("quantize", "--model", model, "--out", quantized)).ExitCode);
        var intoFourBit = await CliRun.Of("merge", "--model", quantized, "--adapter", Path.Combine(run, "adapter"), "--out", Path.Combine(_dir, "merged-nf4"));
        Assert.True(intoFourBit.ExitCode == 0, intoFourBit.Error + intoFourBit.Output);
        Assert.StartsWith("the base is a 4-bit checkpoint: its weights were dequantized and the merged model is written dense", intoFourBit.Output);

        var asTrained = await CliRun.Of("merge", "--model", model, "--adapter", Path.Combine(run, "adapter"), "--out", Path.Combine(_dir, "merged-as-trained"), "--quantize", "nf4");
        Assert.True(asTrained.ExitCode == 0, asTrained.Error + asTrained.Output);
        Assert.StartsWith("merged into the base quantized to nf4 as the adapter trained on it, dequantized: the merged model is written dense", asTrained.Output);
        // the same model as the merge into the quantized folder, file for file
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "merged-nf4", "model.safetensors")), File.ReadAllBytes(Path.Combine(_dir, "merged-as-trained", "model.safetensors")));
    }

    [Fact]
    public async Task Bad_quantize_options_are_usage_errors()
    {
        string model = RepoPaths.Fixture("models", "tiny-llama");
        var type = await CliRun.Of("quantize", "--model", model, "--out", Path.Combine(_dir, "x"), "--type", "int4");
        Assert.Equal(2, type.ExitCode);
        var block = await CliRun.Of("quantize", "--model", model, "--out", Path.Combine(_dir, "x"), "--block-size", "48");
        Assert.Equal(2, block.ExitCode);
        Assert.Contains("--block-size 48: must be a power of two from 32 to 4096", block.Error);
        var full = await CliRun.Of("train", "--model", model, "--data", _dir, "--out", Path.Combine(_dir, "run"), "--full", "--quantize", "nf4");
        Assert.Equal(2, full.ExitCode);
        Assert.Contains("--quantize applies to LoRA training", full.Error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }
}
