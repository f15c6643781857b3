using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FunctionsLlm.Core;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// Writes report.json, report.md, report.html and (when there is a curve) loss.png into a folder. Each file goes to a
/// temporary name first and is renamed into place, so readers never see half a report file.
/// </summary>
public static class ReportFiles
{
    public const string Json = "report.json";
    public const string Markdown = "report.md";
    public const string Html = "report.html";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonDefaults.Indented)
    {
        // A diverged model's loss can be NaN or ∞; the report still gets written.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the files and returns their paths; a loss.png left by an earlier report without a curve is removed.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        string png = Path.Combine(outDir, Evaluator.LossCurveFile);
        if (report.LossCurve.Image is not null)
        {
            WriteAtomically(png, LossCurvePlot.Png(new LossHistory(report.LossCurve.Train, report.LossCurve.Eval)));
            written.Add(png);
        }
        else if (File.Exists(png))
        {
            File.Delete(png);
        }
        written.Add(WriteAtomically(Path.Combine(outDir, Json), SerializeJson(report)));
        written.Add(WriteAtomically(Path.Combine(outDir, Markdown), Encoding.UTF8.GetBytes(MarkdownReport.Render(report))));
        written.Add(WriteAtomically(Path.Combine(outDir, Html), Encoding.UTF8.GetBytes(HtmlReport.Render(report))));
        return written;
    }

    public static byte[] SerializeJson(EvaluationReport report) => JsonSerializer.SerializeToUtf8Bytes(report, JsonOptions);

    public static EvaluationReport ReadJson(string path) =>
        JsonSerializer.Deserialize<EvaluationReport>(File.ReadAllBytes(path), JsonOptions)
            ?? throw new EvaluationException($"{path}: not an evaluation report");

    private static string WriteAtomically(string path, byte[] bytes)
    {
        string temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
            return path;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
