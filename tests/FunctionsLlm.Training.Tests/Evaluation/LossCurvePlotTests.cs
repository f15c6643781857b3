using FunctionsLlm.Training.Evaluation;
using SkiaSharp;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class LossCurvePlotTests
{
    [Fact]
    public void Draws_both_curves_into_a_png()
    {
        var train = Enumerable.Range(1, 50).Select(s => new LossPoint(s, 3.0 * Math.Exp(-s / 20.0) + 0.5)).ToList();
        var eval = Enumerable.Range(1, 5).Select(i => new LossPoint(i * 10, 3.0 * Math.Exp(-i / 2.0) + 0.7)).ToList();

        byte[] png = LossCurvePlot.Png(new LossHistory(train, eval));

        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);   // a PNG that decodes
        Assert.Equal((LossCurvePlot.Width, LossCurvePlot.Height), (bitmap.Width, bitmap.Height));
        Assert.True(CountNear(bitmap, new SKColor(70, 130, 180)) > 500, "the train line (steel blue) is drawn");
        Assert.True(CountNear(bitmap, new SKColor(255, 140, 0)) > 200, "the eval line and markers (dark orange) are drawn");
    }

    [Fact]
    public void One_point_is_enough()
    {
        using var bitmap = SKBitmap.Decode(LossCurvePlot.Png(new LossHistory([new LossPoint(1, 2.0)], [])));
        Assert.True(CountNear(bitmap, new SKColor(70, 130, 180)) > 20, "a single train point shows as a marker");
    }

    private static int CountNear(SKBitmap bitmap, SKColor color)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 30)
                    count++;
            }
        }
        return count;
    }
}
