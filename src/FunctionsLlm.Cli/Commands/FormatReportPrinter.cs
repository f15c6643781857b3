using System.Text.Json;
using FunctionsLlm.Data.Formatting;

namespace FunctionsLlm.Cli.Commands;

internal static class FormatReportPrinter
{
    public static void Print(TextWriter output, FormatReport report, string outDir)
    {
        output.WriteLine($"formatted {report.RecordsIn:N0} records with the {report.Template.ToString().ToLowerInvariant()} template (max {report.MaxTokens} tokens) in {report.ElapsedSeconds:0.###} s");
        output.WriteLine($"train {report.Train:N0} → {Path.Combine(outDir, Formatter.TrainFile)}");
        output.WriteLine($"eval  {report.Eval:N0} → {Path.Combine(outDir, Formatter.EvalFile)}");
        output.WriteLine($"rejected {report.RecordsRejected:N0} → {Path.Combine(outDir, Formatter.RejectedFile)}");
        foreach (var (reason, count) in report.Rejected)
            output.WriteLine($"  {JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString()),-30} {count,8:N0}");
        output.WriteLine($"tokens {report.Tokens:N0} (answers {report.AnswerTokens:N0}); label coverage mean {report.LabelCoverage.Mean:0.###}, min {report.LabelCoverage.Min:0.###}, truncated records {report.TruncatedRecords:N0} → {Path.Combine(outDir, Formatter.TruncatedFile)}");
        output.WriteLine($"report → {Path.Combine(outDir, Formatter.ReportFile)}");
    }
}
