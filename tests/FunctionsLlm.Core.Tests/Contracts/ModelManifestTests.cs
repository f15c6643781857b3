using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class ModelManifestTests
{
    // DESIGN.md "Contracts": models/{model}/current.json = {version, mergedPrefix, baseModel, baseSha256, chatTemplate, createdAt, evalLoss}
    private const string Document = """
        {
          "version": "r20250301-7f3a",
          "mergedPrefix": "support-bot/r20250301-7f3a/",
          "baseModel": "Qwen/Qwen2.5-0.5B-Instruct",
          "baseSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "chatTemplate": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
          "createdAt": "2025-03-01T08:30:00+08:00",
          "evalLoss": 1.25,
          "publishedBy": "a newer writer's field"
        }
        """;

    [Fact]
    public void Reads_every_field_of_the_design_document_and_ignores_unknown_ones()
    {
        var manifest = ModelManifest.Parse(Document);

        Assert.Equal("r20250301-7f3a", manifest.Version);
        Assert.Equal("support-bot/r20250301-7f3a/", manifest.MergedPrefix);
        Assert.Equal("Qwen/Qwen2.5-0.5B-Instruct", manifest.BaseModel);
        Assert.Equal("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", manifest.BaseSha256);
        Assert.Equal("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", manifest.ChatTemplate);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 8, 30, 0, TimeSpan.FromHours(8)), manifest.CreatedAt);
        Assert.Equal(TimeSpan.FromHours(8), manifest.CreatedAt.Offset);
        Assert.Equal(1.25, manifest.EvalLoss);
    }

    [Fact]
    public void Writes_the_design_field_names_and_reads_back_equal()
    {
        var manifest = ModelManifest.Parse(Document);

        var json = JsonSerializer.Serialize(manifest, JsonDefaults.Indented);

        Assert.Equal(["version", "mergedPrefix", "baseModel", "baseSha256", "chatTemplate", "createdAt", "evalLoss"], JsonNames.Of(json));
        Assert.Contains("\"createdAt\": \"2025-03-01T08:30:00+08:00\"", json, StringComparison.Ordinal);
        Assert.Equal(manifest, ModelManifest.Parse(json));
    }

    [Fact]
    public void Optional_fields_may_be_left_out()
    {
        var manifest = ModelManifest.Parse("""{"version": "v1", "mergedPrefix": "m/v1/", "createdAt": "2025-01-01T00:00:00Z"}""");

        Assert.Null(manifest.BaseModel);
        Assert.Null(manifest.BaseSha256);
        Assert.Null(manifest.ChatTemplate);
        Assert.Null(manifest.EvalLoss);
        Assert.Equal("""{"version":"v1","mergedPrefix":"m/v1/","createdAt":"2025-01-01T00:00:00+00:00"}""",
            JsonSerializer.Serialize(manifest, JsonDefaults.Compact));
    }

    [Fact]
    public void A_missing_version_is_named()
    {
        var e = Assert.Throws<ContractException>(() =>
            ModelManifest.Parse("""{"mergedPrefix": "m/v1/", "createdAt": "2025-01-01T00:00:00Z"}"""));

        Assert.Equal(["'version' is missing"], e.Problems);
        Assert.Equal("Invalid ModelManifest: 'version' is missing", e.Message);
    }

    [Fact]
    public void A_merged_prefix_without_a_trailing_slash_is_named_with_its_value()
    {
        var e = Assert.Throws<ContractException>(() =>
            ModelManifest.Parse("""{"version": "v1", "mergedPrefix": "m/v1", "createdAt": "2025-01-01T00:00:00Z"}""",
                origin: "models/m/current.json"));

        Assert.Equal("models/m/current.json is not a valid ModelManifest: 'mergedPrefix' must end with '/' (got 'm/v1')", e.Message);
        Assert.Equal("models/m/current.json", e.Origin);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var e = Assert.Throws<ContractException>(() =>
            ModelManifest.Parse("""{"version": "a/b", "baseSha256": "ABC", "evalLoss": -1}"""));

        Assert.Equal(
        [
            "'version' must be one path segment without / \\ : * ? \" < > | % or control characters (got 'a/b')",
            "'mergedPrefix' is missing",
            "'baseSha256' must be 64 lowercase hex digits (got 'ABC')",
            "'createdAt' is missing",
            "'evalLoss' must be a finite number ≥ 0 (got -1)",
        ], e.Problems);
    }

    [Fact]
    public void Broken_json_is_reported_as_such_not_as_a_raw_json_exception()
    {
        var e = Assert.Throws<ContractException>(() => ModelManifest.Parse("""{"version": "v1", """));

        Assert.StartsWith("Invalid ModelManifest: not valid JSON: ", e.Message, StringComparison.Ordinal);
        Assert.Single(e.Problems);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_reported_with_its_path()
    {
        var e = Assert.Throws<ContractException>(() =>
            ModelManifest.Parse("""{"version": "v1", "mergedPrefix": "m/v1/", "createdAt": 5}"""));

        Assert.Equal(["$.createdAt: The JSON value could not be converted to System.DateTimeOffset."], e.Problems);
    }

    [Theory]
    [InlineData("[]", "the document must be a JSON object, not array")]
    [InlineData("null", "the document must be a JSON object, not null")]
    [InlineData("\"v1\"", "the document must be a JSON object, not string")]
    public void The_document_must_be_an_object(string json, string problem)
    {
        var e = Assert.Throws<ContractException>(() => ModelManifest.Parse(json));

        Assert.Equal([problem], e.Problems);
    }

    [Fact]
    public void TryParse_returns_the_message_instead_of_throwing()
    {
        Assert.False(ModelManifest.TryParse("""{"mergedPrefix": "m/v1/", "createdAt": "2025-01-01T00:00:00Z"}""", out var bad, out var error));
        Assert.Null(bad);
        Assert.Equal("Invalid ModelManifest: 'version' is missing", error);

        Assert.True(ModelManifest.TryParse(Document, out var good, out var none));
        Assert.Equal("r20250301-7f3a", good.Version);
        Assert.Null(none);
    }
}
