using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Templating;

/// <summary>The real Qwen3 chat template against the shared fixture rendered by @huggingface/jinja.</summary>
public sealed class FixtureChatTemplateTests
{
    public static TheoryData<int> Qwen3Cases()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "chat_expected.json")));
        var data = new TheoryData<int>();
        for (var i = 0; i < document.RootElement.GetProperty("cases").GetArrayLength(); i++)
            data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Qwen3Cases))]
    public void Qwen3_template_matches_the_fixture(int index)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "tokenizer_config.json")));
        using var expected = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "chat_expected.json")));
        var testCase = expected.RootElement.GetProperty("cases")[index];
        var messages = testCase.GetProperty("messages").EnumerateArray()
            .Select(message => (IReadOnlyDictionary<string, object?>)message.EnumerateObject()
                .ToDictionary(p => p.Name, p => (object?)p.Value.Clone()))
            .ToList();
        IReadOnlyDictionary<string, object?>? extra = testCase.TryGetProperty("extra", out var extraElement)
            ? extraElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone())
            : null;

        var rendered = ChatTemplateRenderer.Render(config.RootElement.GetProperty("chat_template").GetString()!, messages,
            testCase.GetProperty("add_generation_prompt").GetBoolean(), extra);

        Assert.Equal(testCase.GetProperty("rendered").GetString(), rendered);
    }

    [Fact]
    public void Plain_dotnet_values_render_like_json_input()
    {
        var template = "{% for m in messages %}{{ m.role }}={{ m.content }};{% endfor %}{{ n }}|{{ f }}|{{ flags }}|{{ meta }}";
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = new List<IReadOnlyDictionary<string, object?>> { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" } },
            ["n"] = 3,
            ["f"] = 2.5,
            ["flags"] = new object?[] { true, null, 1L },
            ["meta"] = new Dictionary<string, object?> { ["k"] = "v" },
        };

        Assert.Equal("user=hi;3|2.5|[true, null, 1]|{\"k\": \"v\"}", JinjaTemplate.Parse(template).Render(variables));
    }

    [Fact]
    public void Strftime_now_uses_the_given_clock()
    {
        var clock = new FixedClock(new DateTimeOffset(2024, 7, 5, 9, 3, 0, TimeSpan.Zero));
        var rendered = JinjaTemplate.Parse("{{ strftime_now('%d %b %Y %B %H:%M %%') }}").Render(new Dictionary<string, object?>(), clock);
        Assert.Equal("05 Jul 2024 July 09:03 %", rendered);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }
}
