namespace FunctionsLlm.Bench;

/// <summary>This process's peak resident set size (Linux VmHWM), resettable so a phase can be measured alone.</summary>
internal static class PeakRss
{
    /// <summary>Sets the peak back to the current RSS (writing 5 to clear_refs, Linux ≥ 4.0); a no-op where that is refused.</summary>
    public static void Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"peak RSS not reset ({e.Message}): it includes the conversion");
        }
    }

    public static string Read() =>
        File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(':')[1].Trim();
}
