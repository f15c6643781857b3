using System.ClientModel;
using System.Text.RegularExpressions;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using OpenAI;
using OpenAI.Chat;
using static TorchSharp.torch;

namespace FunctionsLlm.Cli.Tests.Commands;

public class ServeCommandTests
{
    [Theory]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-glm")]
    [InlineData("tiny-glm4")]
    public async Task Serve_answers_the_openai_sdk_with_what_generate_prints_and_requires_the_api_key(string name)
    {
        string model = RepoPaths.Fixture("models", name);
        var generate = await CliRun.Of("generate", "--model", model, "--chat", "--prompt", "您好，这款产品", "--temperature", "0", "--max-tokens", "12");
        Assert.Equal(0, generate.ExitCode);

        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(() => FlmCli.RunAsync(
            ["serve", "--model", model, "--port", "0", "--api-key", "k3y", "--max-concurrency", "2"], synchronizedOutput, error, stop.Token));
        var address = await AddressAsync(synchronizedOutput, output, serve);

        var chat = new ChatClient(name, new ApiKeyCredential("k3y"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("您好，这款产品")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });
        Assert.Equal(generate.Output[..^1], completion.Content[0].Text); // generate ends the text with one newline

        var wrongKey = new ChatClient(name, new ApiKeyCredential("nope"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => wrongKey.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, refused.Status);

        stop.Cancel();
        Assert.Equal(0, await serve);
        Assert.Contains("stopped", output.ToString());
    }

    [Fact]
    public async Task Serve_with_lora_answers_for_each_adapter_as_the_base_with_that_adapter_alone()
    {
        string model = RepoPaths.Fixture("models", "tiny-qwen2");
        using var adapters = new TempFolder("flm-serve-lora-");
        string support = adapters.File("support"), billing = adapters.File("billing");
        RandomAdapter.Write(model, support, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] }, seed: 1, scale: 0.08);
        RandomAdapter.Write(model, billing, new LoraConfig { R = 8, LoraAlpha = 16, TargetModules = [LoraConfig.AllLinear] }, seed: 2, scale: 0.08);

        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(() => FlmCli.RunAsync(
            ["serve", "--model", model, "--port", "0", "--lora", $"support={support}", "--lora", $"billing={billing}", "--max-loras", "1", "--max-lora-rank", "8"],
            synchronizedOutput, error, stop.Token));
        var address = await AddressAsync(synchronizedOutput, output, serve);
        Assert.Contains("and adapters 'support', 'billing'", output.ToString());

        foreach (var (id, adapter) in new[] { ("support", support), ("tiny-qwen2:billing", billing), ("tiny-qwen2", null) })
        {
            var chat = new ChatClient(id, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("您好，这款产品")],
                new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });
            Assert.Equal(AnswerAlone(model, adapter, "您好，这款产品", 12), completion.Content[0].Text);
        }
        stop.Cancel();
        Assert.Equal(0, await serve);

        var bad = await CliRun.Of("serve", "--model", model, "--lora", $"big={billing}", "--max-lora-rank", "4");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--lora big=", bad.Error);
        Assert.Contains("rank 8 is above the largest rank served, 4", bad.Error);
        var malformed = await CliRun.Of("serve", "--model", model, "--lora", billing);
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("expected NAME=ADAPTER_DIR", malformed.Error);
    }

    /// <summary>The base with the adapter attached alone (PEFT's forward), greedy under the chat template, stopping at end of sequence.</summary>
    [Fact]
    public async Task Serve_with_q8_0_weights_answers_as_the_model_loaded_in_q8_0_alone()
    {
        string model = RepoPaths.Fixture("models", "tiny-llama");
        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var synchronizedOutput = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(() => FlmCli.RunAsync(["serve", "--model", model, "--port", "0", "--weights", "q8_0"], synchronizedOutput, error, stop.Token));
        var address = await AddressAsync(synchronizedOutput, output, serve);
        Assert.Contains("serving 'tiny-llama' (Q8_0 weights)", output.ToString());

        var chat = new ChatClient("tiny-llama", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("您好，这款产品")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });
        Assert.Equal(AnswerAlone(model, null, "您好，这款产品", 12, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = true }), completion.Content[0].Text);
        stop.Cancel();
        Assert.Equal(0, await serve);

        var unknown = await CliRun.Of("serve", "--model", model, "--weights", "q4_0");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("q4_0", unknown.Error);
    }

    private static string AnswerAlone(string model, string? adapter, string question, int tokens, ModelLoadOptions? load = null)
    {
        using var served = ServedModel.Load(model);
        var prompt = served.ChatPromptIds([("user", question)]);
        using var lm = ModelLoader.Load(model, load ?? new ModelLoadOptions(CPU, ScalarType.Float32));
        if (adapter is not null)
            PeftAdapter.Load(lm, adapter);
        return new TextGenerator(lm, HfTokenizer.Load(model)).Generate(prompt, served.DefaultSampling with { Temperature = 0, MaxTokens = tokens }).Text;
    }

    [Fact]
    public async Task Serve_refuses_bad_limits_and_missing_models()
    {
        var limits = await CliRun.Of("serve", "--model", RepoPaths.Fixture("models", "tiny-qwen2"), "--max-concurrency", "0");
        Assert.Equal(2, limits.ExitCode);
        Assert.Contains("max concurrent sequences must be at least 1", limits.Error);

        var missing = await CliRun.Of("serve", "--model", Path.Combine(Path.GetTempPath(), "no-such-model-dir"));
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("flm: ", missing.Error);
    }

    internal static async Task<Uri> AddressAsync(TextWriter synchronizedOutput, StringWriter output, Task<int> serve)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(20))
        {
            string text;
            lock (synchronizedOutput)
                text = output.ToString();
            if (Regex.Match(text, @"serving '[^']+'.*? on (http://\S+) ") is { Success: true } match)
                return new Uri(match.Groups[1].Value);
            if (serve.IsCompleted)
                Assert.Fail($"serve exited with {await serve}: {text}");
        }
        throw new TimeoutException("flm serve did not print its address");
    }
}
