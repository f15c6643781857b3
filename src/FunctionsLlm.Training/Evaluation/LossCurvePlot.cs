using ScottPlot;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Draws train and eval loss against the step (ScottPlot 5) as a PNG.</summary>
public static class LossCurvePlot
{
    public const int Width = 900;
    public const int Height = 500;

    /// <summary>Training logs as a blue line, evaluations as orange markers joined by a line.</summary>
    public static byte[] Png(LossHistory history)
    {
        if (history.IsEmpty)
            throw new ArgumentException("there is no loss to draw", nameof(history));
        using var plot = new Plot();
        if (history.Train.Count > 0)
        {
            var train = plot.Add.Scatter(Steps(history.Train), Losses(history.Train), Colors.SteelBlue);
            train.LegendText = "train loss";
            train.LineWidth = 2;
            train.MarkerSize = history.Train.Count == 1 ? 6 : 0;
        }
        if (history.Eval.Count > 0)
        {
            var eval = plot.Add.Scatter(Steps(history.Eval), Losses(history.Eval), Colors.DarkOrange);
            eval.LegendText = "eval loss";
            eval.LineWidth = 2;
            eval.MarkerSize = 7;
        }
        plot.Title("Loss per step");
        plot.XLabel("step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    private static double[] Steps(IReadOnlyList<LossPoint> points) => [.. points.Select(p => (double)p.Step)];

    private static double[] Losses(IReadOnlyList<LossPoint> points) => [.. points.Select(p => p.Loss)];
}
