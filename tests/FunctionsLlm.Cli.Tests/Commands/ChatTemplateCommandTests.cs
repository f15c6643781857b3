using System.Text.Json;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class ChatTemplateCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-chat-");

    public void Dispose() => _dir.Dispose();

    private static JsonElement Case(int index) =>
        JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "chat_expected.json"))).RootElement.GetProperty("cases")[index];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Renders_the_qwen3_template_exactly_like_huggingface_jinja(int index)
    {
        var expected = Case(index);
        var messages = Path.Combine(_dir, "messages.json");
        File.WriteAllText(messages, expected.GetProperty("messages").GetRawText());
        var args = new List<string> { "chat-template", "--model", RepoPaths.Fixture("tokenizers", "qwen3"), "--messages", messages };
        if (expected.GetProperty("add_generation_prompt").GetBoolean())
            args.Add("--add-generation-prompt");
        if (expected.TryGetProperty("extra", out var extra))
            foreach (var variable in extra.EnumerateObject())
                args.AddRange(["--var", $"{variable.Name}={variable.Value.GetRawText()}"]);

        var run = await CliRun.Of([.. args]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected.GetProperty("rendered").GetString(), run.Output);
    }

    [Theory]
    [InlineData("tiny-glm", 0)]
    [InlineData("tiny-glm", 1)]
    [InlineData("tiny-glm", 2)]
    [InlineData("tiny-glm4", 0)]
    [InlineData("tiny-glm4", 1)]
    [InlineData("tiny-glm4", 2)]
    public async Task Renders_the_glm_template_exactly_like_huggingface_jinja(string model, int index)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "chat_expected.json"))).RootElement.GetProperty("cases")[index];
        var messages = Path.Combine(_dir, "messages.json");
        File.WriteAllText(messages, expected.GetProperty("messages").GetRawText());
        var args = new List<string> { "chat-template", "--model", RepoPaths.Fixture("models", model), "--messages", messages };
        if (expected.GetProperty("add_generation_prompt").GetBoolean())
            args.Add("--add-generation-prompt");

        var run = await CliRun.Of([.. args]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected.GetProperty("rendered").GetString(), run.Output);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Renders_the_llama2_chat_template_with_the_tokenizers_bos_and_eos(int index)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "spm-bpe", "chat_expected.json")))
            .RootElement.GetProperty("cases")[index];
        var messages = Path.Combine(_dir, "messages.json");
        File.WriteAllText(messages, expected.GetProperty("messages").GetRawText());

        var args = new List<string> { "chat-template", "--model", RepoPaths.Fixture("tokenizers", "spm-bpe"), "--messages", messages };
        if (expected.GetProperty("add_generation_prompt").GetBoolean())
            args.Add("--add-generation-prompt");

        var run = await CliRun.Of([.. args]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected.GetProperty("rendered").GetString(), run.Output);
    }

    [Fact]
    public async Task A_malformed_var_is_a_usage_error()
    {
        var messages = Path.Combine(_dir, "messages.json");
        File.WriteAllText(messages, "[{\"role\":\"user\",\"content\":\"hi\"}]");

        var run = await CliRun.Of("chat-template", "--model", RepoPaths.Fixture("tokenizers", "qwen3"), "--messages", messages, "--var", "novalue");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("name=value", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_messages_file_that_is_not_json_is_unreadable_input()
    {
        var messages = Path.Combine(_dir, "messages.json");
        File.WriteAllText(messages, "not json");

        var run = await CliRun.Of("chat-template", "--model", RepoPaths.Fixture("tokenizers", "qwen3"), "--messages", messages);

        Assert.Equal(1, run.ExitCode);
    }
}
