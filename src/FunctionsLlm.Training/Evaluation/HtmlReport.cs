using System.Net;
using System.Text;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// report.html: one self-contained page (inline style, no scripts) with the summary, the loss curve image and a
/// side-by-side table of reference, base and fine-tuned answers. Every piece of user text is HTML-encoded.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
        th { background: #f3f3f3; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.text { white-space: pre-wrap; word-break: break-word; max-width: 32em; }
        td.prompt { font-family: ui-monospace, monospace; font-size: 0.85em; color: #555; }
        .scores { color: #555; font-size: 0.85em; margin-top: 0.4em; }
        .match { color: #0a7d2c; font-weight: bold; }
        .empty { color: #999; font-style: italic; }
        dt { font-weight: bold; margin-top: 0.5em; }
        """;

    public static string Render(EvaluationReport report)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>Evaluation: base vs fine-tuned</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>Evaluation: base vs fine-tuned</h1>\n<ul>\n");
        Item(html, "Base model", report.BaseModel);
        Item(html, "Fine-tuned model", report.FineTunedModel);
        Item(html, "Eval data", $"{report.Data} ({ReportText.Count(report.RecordCount)} records)");
        Item(html, "Sampling (both models)", ReportText.Sampling(report.Sampling));
        Item(html, "Created", ReportText.Created(report.CreatedAt));
        html.Append("</ul>\n");

        html.Append("<h2>Summary</h2>\n<table>\n<tr><th>model</th><th>eval loss</th><th>perplexity</th><th>exact match</th>")
            .Append("<th>ROUGE-L F1</th><th>BLEU-4 (corpus)</th><th>BLEU-4 (mean of records)</th><th>generated tokens</th><th>cut at max tokens</th></tr>\n");
        SummaryRow(html, "base", report.Base);
        SummaryRow(html, "fine-tuned", report.FineTuned);
        html.Append("</table>\n");

        html.Append("<h2>Loss curve</h2>\n");
        if (report.LossCurve.Image is { } image)
            html.Append("<img src=\"").Append(Encode(image)).Append("\" alt=\"train and eval loss per step\">\n");
        html.Append("<p>").Append(Encode(report.LossCurve.Note)).Append("</p>\n");

        html.Append("<h2>Answers</h2>\n<table>\n<tr><th>line</th><th>prompt</th><th>reference</th><th>base</th><th>fine-tuned</th></tr>\n");
        foreach (var record in report.Records)
        {
            html.Append("<tr><td class=\"num\">").Append(ReportText.Count(record.Line)).Append("</td>")
                .Append("<td class=\"text prompt\">").Append(Encode(record.Prompt)).Append("</td>")
                .Append("<td class=\"text\">").Append(Encode(record.Reference)).Append("</td>");
            AnswerCell(html, record.Base);
            AnswerCell(html, record.FineTuned);
            html.Append("</tr>\n");
        }
        html.Append("</table>\n");

        html.Append("<h2>Metric definitions</h2>\n<dl>\n");
        foreach (var (name, definition) in ReportText.Definitions())
            html.Append("<dt>").Append(Encode(name)).Append("</dt><dd>").Append(Encode(definition)).Append("</dd>\n");
        html.Append("</dl>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>HTML-encodes text for element content and attribute values (&amp; &lt; &gt; &quot; &#39;).</summary>
    public static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static void Item(StringBuilder html, string name, string value) =>
        html.Append("<li>").Append(Encode(name)).Append(": ").Append(Encode(value)).Append("</li>\n");

    private static void SummaryRow(StringBuilder html, string name, ModelSummary s)
    {
        html.Append("<tr><th>").Append(name).Append("</th>");
        foreach (string value in new[]
        {
            ReportText.Loss(s.EvalLoss), ReportText.Perplexity(s.Perplexity), ReportText.Score(s.ExactMatch),
            ReportText.Score(s.RougeL), ReportText.Score(s.Bleu4), ReportText.Score(s.Bleu4SentenceMean),
            ReportText.Count(s.GeneratedTokens), ReportText.Count(s.StoppedByLength),
        })
        {
            html.Append("<td class=\"num\">").Append(value).Append("</td>");
        }
        html.Append("</tr>\n");
    }

    private static void AnswerCell(StringBuilder html, AnswerResult a)
    {
        html.Append("<td class=\"text\">");
        html.Append(a.Text.Length == 0 ? "<span class=\"empty\">(empty)</span>" : Encode(a.Text));
        html.Append("<div class=\"scores\">")
            .Append(a.ExactMatch ? "<span class=\"match\">exact match</span> · " : "")
            .Append("ROUGE-L ").Append(ReportText.Score(a.RougeL))
            .Append(" · BLEU-4 ").Append(ReportText.Score(a.Bleu4))
            .Append(" · ").Append(ReportText.Count(a.GeneratedTokens)).Append(" tokens, ")
            .Append(a.FinishReason == Modeling.Generation.FinishReason.Length ? "cut at max tokens" : "stopped")
            .Append("</div></td>");
    }
}
