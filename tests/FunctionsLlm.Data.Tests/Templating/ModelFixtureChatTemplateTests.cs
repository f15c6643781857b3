using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Templating;

/// <summary>The chat templates of the model fixtures that ship renders (GLM-4 style) against @huggingface/jinja's.</summary>
public sealed class ModelFixtureChatTemplateTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string model in new[] { "tiny-glm", "tiny-glm4" })
        {
            using var document = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "chat_expected.json")));
            for (var i = 0; i < document.RootElement.GetProperty("cases").GetArrayLength(); i++)
                data.Add(model, i);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_template_renders_as_the_reference_does(string model, int index)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "tokenizer_config.json")));
        using var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", model, "chat_expected.json")));
        var testCase = expected.RootElement.GetProperty("cases")[index];
        var messages = testCase.GetProperty("messages").EnumerateArray()
            .Select(message => (IReadOnlyDictionary<string, object?>)message.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone()))
            .ToList();

        var rendered = ChatTemplateRenderer.Render(config.RootElement.GetProperty("chat_template").GetString()!, messages,
            testCase.GetProperty("add_generation_prompt").GetBoolean());

        Assert.Equal(testCase.GetProperty("rendered").GetString(), rendered);
    }
}
