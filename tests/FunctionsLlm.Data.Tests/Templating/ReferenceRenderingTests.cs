using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Templating;

/// <summary>Replays templates rendered by @huggingface/jinja (and Python Jinja2 for extensions); see tests/tools/jinja-reference.</summary>
public sealed class ReferenceRenderingTests
{
    private static readonly string ReferenceFolder =
        Path.Combine(RepoPaths.Root, "tests", "FunctionsLlm.Data.Tests", "Templating", "References");

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in Directory.GetFiles(ReferenceFolder, "*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var count = document.RootElement.GetProperty("cases").GetArrayLength();
            for (var i = 0; i < count; i++)
                data.Add(Path.GetFileNameWithoutExtension(file), i);
        }

        return data;
    }

    [Fact]
    public void Reference_data_covers_every_model_family()
    {
        var names = Directory.GetFiles(ReferenceFolder, "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        foreach (var family in new[] { "chat-llama-3.1", "chat-llama-3.2", "chat-mistral-v0.3", "chat-qwen2.5", "chat-gemma", "chat-phi-3",
                     "chat-deepseek-r1", "chat-glm-4-9b-chat-hf", "chat-glm-4-9b-0414", "python-extensions" })
            Assert.Contains(family, names);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_like_the_reference(string file, int index)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceFolder, file + ".json")));
        var template = document.RootElement.GetProperty("template").GetString()!;
        var testCase = document.RootElement.GetProperty("cases")[index];
        var variables = testCase.GetProperty("variables").EnumerateObject()
            .ToDictionary(property => property.Name, property => (object?)property.Value.Clone());

        var parsed = JinjaTemplate.Parse(template);
        if (testCase.TryGetProperty("error", out var error))
        {
            var exception = Assert.Throws<TemplateRenderException>(() => parsed.Render(variables));
            if (exception.RaisedByTemplate)
                Assert.Equal(error.GetString(), exception.Message);
            return;
        }

        Assert.Equal(testCase.GetProperty("rendered").GetString(), parsed.Render(variables));
    }
}
