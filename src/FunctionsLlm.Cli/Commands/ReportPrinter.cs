using FunctionsLlm.Data.Cleaning;

namespace FunctionsLlm.Cli.Commands;

internal static class ReportPrinter
{
    public static void Print(TextWriter output, TextWriter error, CleaningReport report, string outDir)
    {
        var kind = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(report.Kind.ToString());
        var encoding = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(report.Encoding.ToString());
        output.WriteLine($"read {report.RecordsIn:N0} records ({kind}, {encoding}) in {report.ElapsedSeconds:0.###} s");
        output.WriteLine($"kept {report.RecordsOut:N0} → {Path.Combine(outDir, Cleaner.CleanedFile)}");
        output.WriteLine($"rejected {report.RecordsRejected:N0} → {Path.Combine(outDir, Cleaner.RejectedFile)}");
        foreach (var (reason, count) in report.Rejected)
            output.WriteLine($"  {Cleaner.ReasonCode(reason),-20} {count,8:N0}");
        if (report.DedupSpilledRecords > 0)
            output.WriteLine($"de-duplicated the last {report.DedupSpilledRecords:N0} records through temporary files (past --dedup-memory-mb)");
        output.WriteLine($"report → {Path.Combine(outDir, Cleaner.ReportFile)}");
        if (report.RecordsIn == 0)
            error.WriteLine("flm: warning: the input holds no records");
        if (report.StoppedEarly is { } stopped)
            error.WriteLine($"flm: warning: the JSON array is broken at {stopped}; records after it were not read");
    }
}
