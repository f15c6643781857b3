using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class ContractJsonTests
{
    private static readonly ModelManifest Manifest = new()
    {
        Version = "v1",
        MergedPrefix = "m/v1/",
        ChatTemplate = "你好 {{ name }}",
        CreatedAt = new DateTimeOffset(2025, 3, 1, 8, 30, 0, TimeSpan.FromHours(8)),
        EvalLoss = 0.5,
    };

    [Fact]
    public void Canonical_json_is_compact_sorted_in_utc_and_keeps_non_ascii_text()
    {
        Assert.Equal(
            """{"chatTemplate":"你好 {{ name }}","createdAt":"2025-03-01T00:30:00+00:00","evalLoss":0.5,"mergedPrefix":"m/v1/","version":"v1"}""",
            ContractJson.ToCanonicalJson(Manifest));
    }

    [Fact]
    public void Canonical_json_exists_for_invalid_numbers_so_comparing_never_throws()
    {
        Assert.Contains("\"evalLoss\":\"NaN\"", (Manifest with { EvalLoss = double.NaN }).ToCanonicalJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_and_TryParse_work_for_any_contract()
    {
        const string json = """{"version": "v1", "mergedPrefix": "m/v1/", "createdAt": "2025-03-01T08:30:00+08:00", "chatTemplate": "你好 {{ name }}", "evalLoss": 0.5}""";

        Assert.Equal(Manifest, ContractJson.Parse<ModelManifest>(json));
        Assert.True(ContractJson.TryParse<ModelManifest>(json, out var manifest, out _));
        Assert.Equal(Manifest, manifest);
    }
}
