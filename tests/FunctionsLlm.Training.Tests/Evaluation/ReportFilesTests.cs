using System.Text.Json;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class ReportFilesTests : IDisposable
{
    private const string Hostile = "<script>alert('x')</script> & \"q\" | a*b_c [l](u)\n第二行";

    private readonly TempFolder _dir = new("flm-report-files-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Html_encodes_every_piece_of_user_text()
    {
        ReportFiles.Write(Report(curve: false), _dir);
        string html = File.ReadAllText(Path.Combine(_dir, ReportFiles.Html));

        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; | a*b_c [l](u)\n第二行", html, StringComparison.Ordinal);
        Assert.Contains("&lt;|im_start|&gt;user", html, StringComparison.Ordinal);
        Assert.Contains("/models/&lt;base&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("No loss curve: no training metrics (metrics.jsonl) were given.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_keeps_user_text_inside_its_table_cell()
    {
        ReportFiles.Write(Report(curve: false), _dir);
        string md = File.ReadAllText(Path.Combine(_dir, ReportFiles.Markdown));

        string escaped = "&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"q\" \\| a\\*b\\_c \\[l\\](u)<br>第二行";
        Assert.Contains($"| 3 | &lt;\\|im\\_start\\|&gt;user<br>问 | 答 | {escaped} | 0 | 0.5000 | 0.2500 | 答 | 1 | 1.0000 | 1.0000 |\n", md, StringComparison.Ordinal);
        Assert.Contains("| base | 2.0000 | 7.39 | 0.0000 | 0.5000 | 0.2500 | 0.2500 | 12 | 1 |\n", md, StringComparison.Ordinal);
        Assert.Contains("| fine-tuned | 1.0000 | 2.72 | 1.0000 | 1.0000 | 1.0000 | 1.0000 | 1 | 0 |\n", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_holds_the_numbers_and_the_texts()
    {
        var report = Report(curve: true);
        ReportFiles.Write(report, _dir);

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_dir, ReportFiles.Json)));
        var root = json.RootElement;
        Assert.Equal(2.0, root.GetProperty("base").GetProperty("evalLoss").GetDouble());
        Assert.Equal(Math.Exp(1), root.GetProperty("fineTuned").GetProperty("perplexity").GetDouble());
        Assert.Equal(0.25, root.GetProperty("base").GetProperty("bleu4").GetDouble());
        var record = root.GetProperty("records")[0];
        Assert.Equal(Hostile, record.GetProperty("base").GetProperty("text").GetString());
        Assert.Equal("length", record.GetProperty("base").GetProperty("finishReason").GetString());
        Assert.True(record.GetProperty("fineTuned").GetProperty("exactMatch").GetBoolean());
        Assert.Equal(0, root.GetProperty("sampling").GetProperty("temperature").GetDouble());
        Assert.True(root.GetProperty("sampling").GetProperty("greedy").GetBoolean());
        Assert.Equal("loss.png", root.GetProperty("lossCurve").GetProperty("image").GetString());
        Assert.Equal(MetricDefinitions.Bleu4, root.GetProperty("metrics").GetProperty("bleu4").GetString());
        Assert.Equal(report.Records, ReportFiles.ReadJson(Path.Combine(_dir, ReportFiles.Json)).Records);
    }

    [Fact]
    public void A_curve_is_drawn_and_linked_and_a_stale_one_is_removed()
    {
        var written = ReportFiles.Write(Report(curve: true), _dir);
        string png = Path.Combine(_dir, "loss.png");
        Assert.Equal([png, .. new[] { "report.json", "report.md", "report.html" }.Select(f => Path.Combine(_dir, f))], written);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        Assert.Contains("<img src=\"loss.png\" alt=\"train and eval loss per step\">", File.ReadAllText(Path.Combine(_dir, ReportFiles.Html)), StringComparison.Ordinal);
        Assert.Contains("![train and eval loss per step](loss.png)", File.ReadAllText(Path.Combine(_dir, ReportFiles.Markdown)), StringComparison.Ordinal);

        ReportFiles.Write(Report(curve: false), _dir);
        Assert.False(File.Exists(png));
        Assert.Equal(["report.html", "report.json", "report.md"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_diverged_loss_is_still_written()
    {
        var report = Report(curve: false);
        report = report with { Base = report.Base with { EvalLoss = double.NaN, Perplexity = double.PositiveInfinity } };
        ReportFiles.Write(report, _dir);
        Assert.Contains("\"evalLoss\": \"NaN\"", File.ReadAllText(Path.Combine(_dir, ReportFiles.Json)), StringComparison.Ordinal);
    }

    private static EvaluationReport Report(bool curve) => new()
    {
        CreatedAt = new DateTimeOffset(2026, 11, 28, 6, 0, 0, TimeSpan.Zero),
        BaseModel = "/models/<base>",
        FineTunedModel = "/models/merged",
        Data = "/data/eval.jsonl",
        RecordCount = 1,
        Sampling = new SamplingSettings(200, 0, 1, 0, 1, 0, 8),
        Base = new ModelSummary("/models/<base>", 2, Math.Exp(2), 0, 0.5, 0.25, 0.25, 12, 1),
        FineTuned = new ModelSummary("/models/merged", 1, Math.Exp(1), 1, 1, 1, 1, 1, 0),
        LossCurve = curve
            ? new LossCurve("/run/metrics.jsonl", "loss.png", "2 training logs and 1 evaluations", [new(1, 2.5), new(2, 2.0)], [new(2, 2.2)])
            : Evaluator.ReadLossCurve(null),
        Records =
        [
            new RecordResult(3, "<|im_start|>user\n问", "答",
                new AnswerResult(Hostile, FinishReason.Length, 12, false, 0.5, 0.25),
                new AnswerResult("答", FinishReason.Stop, 1, true, 1, 1)),
        ],
    };
}
