using FunctionsLlm.Data.Reading;

namespace FunctionsLlm.Data.Cleaning;

public enum DedupMode
{
    None,
    Exact,
    Normalized,
}

/// <summary>Cleaning settings; the defaults are the seed tutorial's rules plus the safe extras.</summary>
public sealed record CleaningOptions
{
    /// <summary>Minimum answer length in characters (Unicode code points, like Python's len), after stripping.</summary>
    public int MinOutputChars { get; init; } = 10;

    public long MaxRecordBytes { get; init; } = 1024 * 1024;

    public DedupMode Dedup { get; init; } = DedupMode.Normalized;

    /// <summary>
    /// Memory for the de-duplication table (20 bytes per slot, at most 70% full: about 2.9 million records in the default
    /// 100 MB). Past it, the rest of the input is de-duplicated through temporary files (same result, bounded memory).
    /// </summary>
    public long DedupMemoryBytes { get; init; } = 100L * 1024 * 1024;

    /// <summary>Where de-duplication past <see cref="DedupMemoryBytes"/> puts its temporary files: the output folder by default, else the system's temp folder.</summary>
    public string? SpillDirectory { get; init; }

    /// <summary>Replace phone numbers, e-mail addresses and mainland-China ID numbers with placeholders.</summary>
    public bool MaskPii { get; init; }

    /// <summary>When set, records whose prompt plus answer exceed <see cref="MaxTokens"/> are rejected.</summary>
    public Func<string, int>? CountTokens { get; init; }

    public int MaxTokens { get; init; } = 1024;

    /// <summary>How many examples per reason the report keeps.</summary>
    public int ExamplesPerReason { get; init; } = 3;

    /// <summary>Lets tests compare the fast path with the general one (they must agree byte for byte).</summary>
    internal bool UseFastPath { get; init; } = true;

    internal RecordReaderOptions ReaderOptions => new() { MaxRecordBytes = MaxRecordBytes };
}
