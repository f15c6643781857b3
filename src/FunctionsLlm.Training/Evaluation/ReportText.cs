using System.Globalization;
using System.Text;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Numbers and descriptions shared by the Markdown and HTML reports (invariant culture).</summary>
internal static class ReportText
{
    public static string Loss(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    public static string Perplexity(double value) => value.ToString(value < 1e5 ? "F2" : "G4", CultureInfo.InvariantCulture);

    /// <summary>A score on 0..1.</summary>
    public static string Score(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    public static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Flag(bool value) => value ? "1" : "0";

    public static string Sampling(SamplingSettings s)
    {
        var text = new StringBuilder(s.Greedy
            ? "greedy (temperature 0)"
            : string.Create(CultureInfo.InvariantCulture, $"temperature {s.Temperature}, top-p {s.TopP}"));
        if (s.TopK > 0)
            text.Append(CultureInfo.InvariantCulture, $", top-k {s.TopK}");
        if (s.RepetitionPenalty != 1)
            text.Append(CultureInfo.InvariantCulture, $", repetition penalty {s.RepetitionPenalty}");
        text.Append(CultureInfo.InvariantCulture, $", at most {s.MaxTokens} tokens, seed {s.Seed} (record i uses seed + i), batch size {s.BatchSize}");
        return text.ToString();
    }

    public static string Created(DateTimeOffset createdAt) => createdAt.ToString("u", CultureInfo.InvariantCulture);

    /// <summary>The metric definitions in the order the reports list them, with display names.</summary>
    public static IEnumerable<(string Name, string Definition)> Definitions() =>
    [
        ("Eval loss / perplexity", MetricDefinitions.EvalLoss),
        ("Tokens of the text metrics", MetricDefinitions.Tokens),
        ("Exact match", MetricDefinitions.ExactMatch),
        ("ROUGE-L", MetricDefinitions.RougeL),
        ("BLEU-4", MetricDefinitions.Bleu4),
        ("Sampling", MetricDefinitions.Sampling),
    ];
}
