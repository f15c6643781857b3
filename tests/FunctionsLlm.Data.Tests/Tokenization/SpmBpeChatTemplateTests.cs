using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>The Llama-2-chat template of the spm-bpe fixture, rendered with the tokenizer's own BOS/EOS, against @huggingface/jinja.</summary>
public sealed class SpmBpeChatTemplateTests(SpmBpeTokenizerFixture fixture) : IClassFixture<SpmBpeTokenizerFixture>
{
    private readonly HfTokenizer _tokenizer = fixture.Tokenizer;

    public static TheoryData<int> CaseIndexes()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(ChatExpectedPath));
        return [.. Enumerable.Range(0, document.RootElement.GetProperty("cases").GetArrayLength())];
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Llama2_chat_template_matches_huggingface_jinja_byte_for_byte(int index)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(ChatExpectedPath));
        var testCase = expected.RootElement.GetProperty("cases")[index];
        var messages = testCase.GetProperty("messages").EnumerateArray()
            .Select(message => (IReadOnlyDictionary<string, object?>)message.EnumerateObject()
                .ToDictionary(p => p.Name, p => (object?)p.Value.Clone()))
            .ToList();

        var rendered = ChatTemplateRenderer.Render(_tokenizer.ChatTemplate!, messages,
            testCase.GetProperty("add_generation_prompt").GetBoolean(), bosToken: _tokenizer.BosToken, eosToken: _tokenizer.EosToken);

        Assert.Equal(testCase.GetProperty("rendered").GetString(), rendered);
    }

    [Fact]
    public void Rendered_prompt_encodes_to_the_reference_ids()
    {
        // chat_expected case 0 renders to expected.json's "<s>[INST] 可以退货吗？ [/INST]" case.
        var reference = TokenizerFixtures.SpmBpeCases().Single(c => c.Text.StartsWith("<s>[INST]", StringComparison.Ordinal));
        var rendered = ChatTemplateRenderer.Render(_tokenizer.ChatTemplate!,
            [new Dictionary<string, object?> { ["role"] = "user", ["content"] = "可以退货吗？" }],
            addGenerationPrompt: true, bosToken: _tokenizer.BosToken, eosToken: _tokenizer.EosToken);

        Assert.Equal(reference.Text, rendered);
        Assert.Equal(reference.Ids, _tokenizer.Encode(rendered));
    }

    private static string ChatExpectedPath => Path.Combine(TokenizerFixtures.SpmBpeDir, "chat_expected.json");
}
