using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace FunctionsLlm.Training;

/// <summary>
/// Where training reports to: RUN_DIR/metrics.jsonl (one JSON object per log or eval), TensorBoard event files
/// under RUN_DIR/tensorboard, and a one-line progress display (step/total, loss, lr, tokens/s, ETA).
/// </summary>
public sealed class TrainingLog : IDisposable
{
    private readonly StreamWriter _metrics;
    private readonly SummaryWriter _tensorBoard;
    private readonly TextWriter? _console;
    private string _lastLoss = "–";

    public TrainingLog(string runDir, TextWriter? console)
    {
        Directory.CreateDirectory(runDir);
        _metrics = new StreamWriter(Path.Combine(runDir, "metrics.jsonl"), append: true) { AutoFlush = true };
        _tensorBoard = tensorboard.SummaryWriter(Path.Combine(runDir, "tensorboard"));
        _console = console;
    }

    public void Train(int step, double epoch, double loss, double learningRate, double gradNorm, double tokensPerSecond)
    {
        Write(new JsonObject
        {
            ["step"] = step,
            ["epoch"] = Math.Round(epoch, 4),
            ["loss"] = loss,
            ["learning_rate"] = learningRate,
            ["grad_norm"] = gradNorm,
            ["tokens_per_second"] = Math.Round(tokensPerSecond, 1),
        });
        _tensorBoard.add_scalar("train/loss", (float)loss, step);
        _tensorBoard.add_scalar("train/learning_rate", (float)learningRate, step);
        _tensorBoard.add_scalar("train/grad_norm", (float)gradNorm, step);
        _lastLoss = loss.ToString("F4", CultureInfo.InvariantCulture);
    }

    public void Eval(int step, double epoch, double loss)
    {
        Write(new JsonObject
        {
            ["step"] = step,
            ["epoch"] = Math.Round(epoch, 4),
            ["eval_loss"] = loss,
            ["eval_perplexity"] = Math.Exp(loss),
        });
        _tensorBoard.add_scalar("eval/loss", (float)loss, step);
        _console?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\r[eval] step {step}: eval loss {loss:F4}, perplexity {Math.Exp(loss):F2}"));
    }

    public void Progress(int step, int total, double learningRate, double tokensPerSecond, double etaSeconds)
    {
        if (_console is null)
            return;
        const int width = 30;
        int filled = (int)((long)width * step / Math.Max(1, total));
        var eta = TimeSpan.FromSeconds(etaSeconds);
        _console.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r[{new string('#', filled)}{new string('.', width - filled)}] {step}/{total} loss {_lastLoss} lr {learningRate:E2} {tokensPerSecond:F0} tok/s ETA {eta:hh\\:mm\\:ss}  "));
    }

    public void Message(string text) => _console?.WriteLine("\r" + text);

    private void Write(JsonObject line) => _metrics.WriteLine(line.ToJsonString(JsonOptions));

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    /// <summary>The TensorBoard writer appends each event to its file as it is added: nothing to close.</summary>
    public void Dispose() => _metrics.Dispose();
}
