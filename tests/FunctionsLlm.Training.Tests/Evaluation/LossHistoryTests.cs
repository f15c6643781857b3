using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class LossHistoryTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-loss-history-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_training_logs_and_evaluations_by_step()
    {
        string path = Write(
            """{"step":1,"epoch":0.1,"loss":2.5,"learning_rate":0.0001,"grad_norm":1.2,"tokens_per_second":900}""",
            "",
            """{"step":2,"epoch":0.2,"loss":2.25,"learning_rate":0.0001,"grad_norm":1.1,"tokens_per_second":910}""",
            """{"step":2,"epoch":0.2,"eval_loss":2.4,"eval_perplexity":11.02}""",
            """{"step":3,"epoch":0.3,"note":"a line of another kind"}""",
            """{"step":4,"epoch":0.4,"loss":2.0""");   // being written: no newline yet

        var history = LossHistory.Load(path);

        Assert.Equal([new LossPoint(1, 2.5), new LossPoint(2, 2.25)], history.Train);
        Assert.Equal([new LossPoint(2, 2.4)], history.Eval);
    }

    [Fact]
    public void A_file_without_losses_is_empty() => Assert.True(LossHistory.Load(Write("""{"step":1}""", "")).IsEmpty);

    [Theory]
    [InlineData("""{"step":1,"loss":2.5""", ":1: not a JSON line")]
    [InlineData("""[1, 2]""", ":1: a metrics line must be a JSON object")]
    [InlineData("""{"loss":2.5}""", ":1: a loss line needs an integer \"step\"")]
    [InlineData("""{"step":1.5,"loss":2.5}""", ":1: a loss line needs an integer \"step\"")]
    [InlineData("""{"step":1,"eval_loss":"high"}""", ":1: \"eval_loss\" must be a finite number, got \"high\"")]
    public void A_broken_line_names_the_file_and_line(string line, string message)
    {
        string path = Write(line, """{"step":2,"loss":1.0}""", "");
        var e = Assert.Throws<EvaluationException>(() => LossHistory.Load(path));
        Assert.Equal(path + message, e.Message[..(path.Length + message.Length)]);
    }

    [Fact]
    public void A_missing_file_is_an_evaluation_error()
    {
        string path = Path.Combine(_dir, "missing.jsonl");
        Assert.Equal($"{path}: not found", Assert.Throws<EvaluationException>(() => LossHistory.Load(path)).Message);
    }

    private string Write(params string[] lines)
    {
        string path = Path.Combine(_dir, "metrics.jsonl");
        File.WriteAllText(path, string.Join("\n", lines));
        return path;
    }
}
