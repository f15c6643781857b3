using System.Text.Json;
using FunctionsLlm.Data.Cleaning;

namespace FunctionsLlm.Data.Tests.Cleaning;

/// <summary>Runs the cleaner in memory and exposes what it wrote, parsed.</summary>
internal sealed record CleaningRun(CleaningReport Report, IReadOnlyList<JsonElement> Kept, IReadOnlyList<JsonElement> Rejects)
{
    public static CleaningRun Of(Stream input, CleaningOptions? options = null)
    {
        using var cleaned = new MemoryStream();
        using var rejected = new MemoryStream();
        var report = new Cleaner(options ?? new CleaningOptions()).Clean(input, cleaned, rejected);
        return new CleaningRun(report, Lines(cleaned), Lines(rejected));
    }

    public static CleaningRun OfFile(string path, CleaningOptions? options = null)
    {
        var before = File.ReadAllBytes(path);
        CleaningRun run;
        using (var input = File.OpenRead(path))
            run = Of(input, options);
        Assert.Equal(before, File.ReadAllBytes(path)); // the input is never modified
        return run;
    }

    public static CleaningRun OfText(string text, CleaningOptions? options = null) =>
        Of(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), options);

    /// <summary>(line, reason) of every reject, in order.</summary>
    public IEnumerable<(long Line, string Reason)> RejectReasons =>
        Rejects.Select(r => (r.GetProperty("line").GetInt64(), r.GetProperty("reason").GetString()!));

    private static List<JsonElement> Lines(MemoryStream stream) =>
        System.Text.Encoding.UTF8.GetString(stream.ToArray())
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToList();
}
