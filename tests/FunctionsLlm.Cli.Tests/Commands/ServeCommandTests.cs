using System.ClientModel;
using System.Text.RegularExpressions;
using OpenAI;
using OpenAI.Chat;

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
            if (Regex.Match(text, @"serving '[^']+' on (http://\S+) ") is { Success: true } match)
                return new Uri(match.Groups[1].Value);
            if (serve.IsCompleted)
                Assert.Fail($"serve exited with {await serve}: {text}");
        }
        throw new TimeoutException("flm serve did not print its address");
    }
}
