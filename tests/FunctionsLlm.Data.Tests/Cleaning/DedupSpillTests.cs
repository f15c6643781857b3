using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Cleaning;

/// <summary>
/// Past its memory budget, de-duplication goes through temporary files; the result must be exactly what the in-memory
/// table gives, in the same order, and nothing may be left behind.
/// </summary>
public sealed class DedupSpillTests : IDisposable
{
    private readonly TempFolder _spillDirectory = new("flm-spill-test-");

    [Theory]
    [InlineData(DedupMode.Normalized, false)]
    [InlineData(DedupMode.Normalized, true)]
    [InlineData(DedupMode.Exact, false)]
    public void A_tiny_budget_gives_the_same_output_as_an_unbounded_one(DedupMode dedup, bool asArray)
    {
        var input = Records(asArray);
        var unbounded = new CleaningOptions { Dedup = dedup, MaxRecordBytes = 4096 };

        var (expected, expectedKept, expectedRejected) = Clean(input, unbounded);
        var (spilled, kept, rejected) = Clean(input, unbounded with { DedupMemoryBytes = 1, SpillDirectory = _spillDirectory });

        Assert.Equal(0, expected.DedupSpilledRecords);
        Assert.InRange(spilled.DedupSpilledRecords, expected.RecordsIn - 20, expected.RecordsIn - 1);
        Assert.Equal(expectedKept, kept);
        Assert.Equal(expectedRejected, rejected);
        Assert.Equal(JsonSerializer.Serialize(expected.Rejected), JsonSerializer.Serialize(spilled.Rejected));
        Assert.Equal(JsonSerializer.Serialize(expected.Examples), JsonSerializer.Serialize(spilled.Examples));
        Assert.Equal(JsonSerializer.Serialize(expected.Formats), JsonSerializer.Serialize(spilled.Formats));
        Assert.True(expected.Rejected.GetValueOrDefault(RejectReason.Duplicate) > 100);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_spillDirectory));
    }

    [Fact]
    public void The_dirty_samples_clean_the_same_through_the_spill()
    {
        // binary.bin is refused before any record is read.
        foreach (var file in Directory.GetFiles(Path.Combine(RepoPaths.Samples, "dirty")).Where(f => Path.GetExtension(f) is ".json" or ".jsonl"))
        {
            var input = File.ReadAllBytes(file);
            var options = new CleaningOptions { MaxRecordBytes = 2048 };
            var expected = Clean(input, options);
            var spilled = Clean(input, options with { DedupMemoryBytes = 1, SpillDirectory = _spillDirectory });
            Assert.Equal((expected.Kept, expected.Rejected), (spilled.Kept, spilled.Rejected));
        }
    }

    [Fact]
    public void The_cli_folder_run_spills_next_to_its_output_and_cleans_up()
    {
        var source = Path.Combine(_spillDirectory, "input.jsonl");
        File.WriteAllBytes(source, Records(asArray: false));
        var output = Path.Combine(_spillDirectory, "out");

        var report = new Cleaner(new CleaningOptions { DedupMemoryBytes = 1 }).CleanFile(source, output);

        Assert.True(report.DedupSpilledRecords > 0);
        Assert.Equal(["cleaned.jsonl", "rejected.jsonl", "report.json"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
    }

    /// <summary>Alpaca and chat records with exact and near duplicates far apart, plus rejects of other kinds in between.</summary>
    private static byte[] Records(bool asArray)
    {
        var random = new Random(11);
        var questions = Enumerable.Range(0, 300).Select(i => $"订单{i}怎么退货？").ToArray();
        var records = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var q = questions[random.Next(questions.Length)];
            var answer = $"您好，订单{q.Length + random.Next(3)}签收后七天内可以申请退货。";
            records.Add(random.Next(12) switch
            {
                0 => JsonSerializer.Serialize(new { instruction = q.ToUpperInvariant() + "！", input = "", output = answer }),
                1 => JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = q }, new { role = "assistant", content = answer } } }),
                2 => JsonSerializer.Serialize(new { instruction = q, input = "", output = "太短" }),
                3 => JsonSerializer.Serialize(new { instruction = q, output = answer }),
                4 => JsonSerializer.Serialize(new { instruction = " " + q, input = "", output = answer + new string('长', random.Next(2) * 3000) }),
                _ => JsonSerializer.Serialize(new { instruction = q, input = "", output = answer }),
            });
        }
        var text = asArray ? "[\n" + string.Join(",\n", records) + "\n]\n" : string.Join('\n', records) + "\n";
        return Encoding.UTF8.GetBytes(text);
    }

    private static (CleaningReport Report, string Kept, string Rejected) Clean(byte[] input, CleaningOptions options)
    {
        using var kept = new MemoryStream();
        using var rejected = new MemoryStream();
        var report = new Cleaner(options).Clean(new MemoryStream(input), kept, rejected);
        return (report, Encoding.UTF8.GetString(kept.ToArray()), Encoding.UTF8.GetString(rejected.ToArray()));
    }

    public void Dispose() => _spillDirectory.Dispose();
}
