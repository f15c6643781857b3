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
