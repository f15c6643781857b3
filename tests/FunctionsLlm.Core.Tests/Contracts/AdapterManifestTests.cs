using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class AdapterManifestTests
{
    // README "Adapters": models/{base}adapters/{name}/current.json = {version, adapterPrefix, baseModel, baseSha256, createdAt, evalLoss}
    private const string Document = """
        {
          "version": "r20250301-7f3a",
          "adapterPrefix": "base/adapters/support-bot/r20250301-7f3a/",
          "baseModel": "base/",
          "baseSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "createdAt": "2025-03-01T08:30:00+08:00",
          "evalLoss": 1.25
        }
        """;

    [Fact]
    public void Reads_and_writes_every_field_under_its_documented_name()
    {
        var manifest = AdapterManifest.Parse(Document);

        Assert.Equal(("r20250301-7f3a", "base/adapters/support-bot/r20250301-7f3a/", "base/", 1.25),
            (manifest.Version, manifest.AdapterPrefix, manifest.BaseModel, manifest.EvalLoss));
        var json = JsonSerializer.Serialize(manifest, JsonDefaults.Indented);
        Assert.Equal(["version", "adapterPrefix", "baseModel", "baseSha256", "createdAt", "evalLoss"], JsonNames.Of(json));
        Assert.Equal(manifest, AdapterManifest.Parse(json));
        Assert.Equal("base/adapters/support-bot/current.json", BlobLayout.Model.AdapterCurrent("base/", "support-bot"));
        Assert.Equal(manifest.AdapterPrefix, BlobLayout.Model.AdapterVersionPrefix("base/", "support-bot", "r20250301-7f3a"));
    }

    [Fact]
    public void The_base_fingerprint_is_required_and_every_problem_is_named()
    {
        var e = Assert.Throws<ContractException>(() =>
            AdapterManifest.Parse("""{"version": "a/b", "adapterPrefix": "x", "createdAt": "2025-01-01T00:00:00Z"}"""));

        Assert.Equal(
        [
            "'version' must be one path segment without / \\ : * ? \" < > | % or control characters (got 'a/b')",
            "'adapterPrefix' must end with '/' (got 'x')",
            "'baseSha256' is missing",
        ], e.Problems);
    }
}
