using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// A local-folder store for real train jobs: tiny-qwen3 at <c>models/base/tiny/</c> and formatted records with a rule
/// to learn (the answer is the prompt's first token plus one) at <c>datasets/d/train.jsonl</c>.
/// </summary>
internal static class LocalStoreFixture
{
    public static void Create(string store, int records)
    {
        string model = Path.Combine(store, "models", "base", "tiny");
        Directory.CreateDirectory(model);
        foreach (string file in Directory.GetFiles(RepoPaths.Fixture("models", "tiny-qwen3")).Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        Directory.CreateDirectory(Path.Combine(store, "datasets", "d"));
        var lines = new StringBuilder();
        for (int i = 0; i < records; i++)
            lines.Append(JsonSerializer.Serialize(new { input_ids = new[] { 20 + i, 30, 40, 21 + i, 511 }, labels = new[] { -100, -100, -100, 21 + i, 511 } })).Append('\n');
        File.WriteAllText(Path.Combine(store, "datasets", "d", "train.jsonl"), lines.ToString());
    }
}
