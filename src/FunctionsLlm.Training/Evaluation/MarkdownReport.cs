using System.Text;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>report.md: summary table, loss curve, per-record table and metric definitions. All user text is escaped.</summary>
public static class MarkdownReport
{
    public static string Render(EvaluationReport report)
    {
        var md = new StringBuilder();
        md.Append("# Evaluation: base vs fine-tuned\n\n");
        md.Append("- Base model: ").Append(Escape(report.BaseModel)).Append('\n');
        md.Append("- Fine-tuned model: ").Append(Escape(report.FineTunedModel)).Append('\n');
        md.Append("- Eval data: ").Append(Escape(report.Data)).Append(" (").Append(ReportText.Count(report.RecordCount)).Append(" records)\n");
        md.Append("- Sampling (both models): ").Append(ReportText.Sampling(report.Sampling)).Append('\n');
        md.Append("- Created: ").Append(ReportText.Created(report.CreatedAt)).Append("\n\n");

        md.Append("## Summary\n\n");
        md.Append("| model | eval loss | perplexity | exact match | ROUGE-L F1 | BLEU-4 (corpus) | BLEU-4 (mean of records) | generated tokens | cut at max tokens |\n");
        md.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        SummaryRow(md, "base", report.Base);
        SummaryRow(md, "fine-tuned", report.FineTuned);

        md.Append("\n## Loss curve\n\n");
        if (report.LossCurve.Image is { } image)
            md.Append("![train and eval loss per step](").Append(image).Append(")\n\n");
        md.Append(Escape(report.LossCurve.Note)).Append("\n\n");

        md.Append("## Records\n\n");
        md.Append("EM = exact match, R-L = ROUGE-L F1, BLEU = sentence BLEU-4.\n\n");
        md.Append("| line | prompt | reference | base | EM | R-L | BLEU | fine-tuned | EM | R-L | BLEU |\n");
        md.Append("| ---: | --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n");
        foreach (var record in report.Records)
        {
            md.Append("| ").Append(ReportText.Count(record.Line))
                .Append(" | ").Append(Escape(record.Prompt))
                .Append(" | ").Append(Escape(record.Reference));
            AnswerCells(md, record.Base);
            AnswerCells(md, record.FineTuned);
            md.Append(" |\n");
        }

        md.Append("\n## Metric definitions\n\n");
        foreach (var (name, definition) in ReportText.Definitions())
            md.Append("- **").Append(name).Append("**: ").Append(Escape(definition)).Append('\n');
        return md.ToString();
    }

    private static void SummaryRow(StringBuilder md, string name, ModelSummary s) =>
        md.Append("| ").Append(name)
            .Append(" | ").Append(ReportText.Loss(s.EvalLoss))
            .Append(" | ").Append(ReportText.Perplexity(s.Perplexity))
            .Append(" | ").Append(ReportText.Score(s.ExactMatch))
            .Append(" | ").Append(ReportText.Score(s.RougeL))
            .Append(" | ").Append(ReportText.Score(s.Bleu4))
            .Append(" | ").Append(ReportText.Score(s.Bleu4SentenceMean))
            .Append(" | ").Append(ReportText.Count(s.GeneratedTokens))
            .Append(" | ").Append(ReportText.Count(s.StoppedByLength))
            .Append(" |\n");

    private static void AnswerCells(StringBuilder md, AnswerResult a) =>
        md.Append(" | ").Append(a.Text.Length == 0 ? "*(empty)*" : Escape(a.Text))
            .Append(" | ").Append(ReportText.Flag(a.ExactMatch))
            .Append(" | ").Append(ReportText.Score(a.RougeL))
            .Append(" | ").Append(ReportText.Score(a.Bleu4));

    /// <summary>
    /// Text that renders as itself inside a Markdown table cell: HTML's &amp; &lt; &gt; as entities, Markdown's
    /// punctuation backslash-escaped (| included, so cells stay cells), line breaks as &lt;br&gt;.
    /// </summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': escaped.Append("&amp;"); break;
                case '<': escaped.Append("&lt;"); break;
                case '>': escaped.Append("&gt;"); break;
                case '\n': escaped.Append("<br>"); break;
                case '\r': break;
                case '\\' or '`' or '*' or '_' or '[' or ']' or '|' or '#' or '~' or '!' or '$':
                    escaped.Append('\\').Append(c);
                    break;
                default: escaped.Append(c); break;
            }
        }
        return escaped.ToString();
    }
}
