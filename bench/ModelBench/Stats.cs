namespace FunctionsLlm.Bench;

/// <summary>What the benches report of repeated measurements.</summary>
internal static class Stats
{
    /// <summary>The middle value (the upper one of an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
