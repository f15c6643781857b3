using System.Text.Json.Serialization;
using FunctionsLlm.Data.Reading;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>report.json of a cleaning run: what came in, what went out, and why each reject was made.</summary>
public sealed class CleaningReport
{
    public string Input { get; set; } = "";

    public InputEncoding Encoding { get; set; }

    public InputKind Kind { get; set; }

    public long RecordsIn { get; set; }

    public long RecordsOut { get; set; }

    public long RecordsRejected { get; set; }

    /// <summary>Rejects per reason code.</summary>
    public SortedDictionary<RejectReason, long> Rejected { get; } = [];

    /// <summary>Kept records per input format.</summary>
    public SortedDictionary<string, long> Formats { get; } = new(StringComparer.Ordinal);

    public CleaningStats Fixes { get; set; } = new();

    /// <summary>The first few rejects of each reason.</summary>
    public SortedDictionary<RejectReason, List<RejectExample>> Examples { get; } = [];

    /// <summary>Where a JSON array broke off, if it did: the records before it were kept.</summary>
    public ReadError? StoppedEarly { get; set; }

    /// <summary>How many records were de-duplicated through temporary files, past the table's memory budget (0: none).</summary>
    public long DedupSpilledRecords { get; set; }

    public CleaningSettings Settings { get; set; } = new(10, 0, DedupMode.None, false, null);

    public double ElapsedSeconds { get; set; }
}

/// <summary>The options a report was made with, so it can be reproduced.</summary>
public sealed record CleaningSettings(int MinOutputChars, long MaxRecordBytes, DedupMode Dedup, bool MaskPii, int? MaxTokens);

/// <summary>Compile-time JSON metadata for the report: reflection-based metadata costs ~0.1 s at the end of every run.</summary>
[JsonSerializable(typeof(CleaningReport))]
internal sealed partial class CleaningReportJson : JsonSerializerContext;
