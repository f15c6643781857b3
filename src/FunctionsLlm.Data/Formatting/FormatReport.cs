namespace FunctionsLlm.Data.Formatting;

/// <summary>format-report.json: how the cleaned records became token sequences.</summary>
public sealed class FormatReport
{
    public string Input { get; set; } = "";

    public PromptTemplate Template { get; set; }

    public int MaxTokens { get; set; }

    public double EvalFraction { get; set; }

    public long RecordsIn { get; set; }

    public long Train { get; set; }

    public long Eval { get; set; }

    public long RecordsRejected { get; set; }

    public SortedDictionary<FormatRejectReason, long> Rejected { get; } = [];

    public long Tokens { get; set; }

    public long AnswerTokens { get; set; }

    /// <summary>Label coverage (answer tokens kept after truncation / answer tokens) over all kept records.</summary>
    public CoverageSummary LabelCoverage { get; set; } = new();

    /// <summary>How many records had their answer cut by the token limit (the others have coverage 1).</summary>
    public long TruncatedRecords { get; set; }

    /// <summary>
    /// The first <see cref="TruncatedExamples"/> of them with their coverage; format-truncated.jsonl lists every one, so
    /// the report stays small (and memory bounded) whatever the input's size.
    /// </summary>
    public List<TruncatedRecord> Truncated { get; } = [];

    public const int TruncatedExamples = 20;

    public double ElapsedSeconds { get; set; }
}

public sealed class CoverageSummary
{
    public double Mean { get; set; } = 1;

    public double Min { get; set; } = 1;

    public long FullyCovered { get; set; }
}

public sealed record TruncatedRecord(long Line, int Tokens, int AnswerTokens, int KeptAnswerTokens, double Coverage);
