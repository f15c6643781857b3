using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public class CpuMatVecTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 13)]          // rows not a multiple of 4, columns not of 8
    [InlineData(256, 64)]        // one thread
    [InlineData(1030, 771)]      // two threads, ragged split
    [InlineData(4096, 768)]
    public void One_row_matches_libtorchs_linear(int rows, int columns)
    {
        var generator = new Generator(5);
        using var weight = randn([rows, columns], generator: generator);
        using var bias = randn([rows], generator: generator);
        using var x = randn([1, 1, columns], generator: generator);
        using var noGrad = no_grad();
        Assert.True(CpuMatVec.Applies(x, weight));

        using var expected = nn.functional.linear(x, weight, bias);
        using var actual = CpuMatVec.Multiply(x, weight, bias);

        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1, expected.abs().max().item<float>());
        Assert.True((expected - actual).abs().max().item<float>() <= 1e-5 * scale);
    }

    [Fact]
    public void Batches_gradients_and_other_dtypes_take_libtorchs_path()
    {
        using var weight = randn(8, 4);
        using var rows = randn(2, 4);
        using var half = randn(1, 4).to(ScalarType.BFloat16);
        using var tracked = randn(1, 4).requires_grad_();
        Assert.False(CpuMatVec.Applies(rows, weight));
        Assert.False(CpuMatVec.Applies(half, weight));
        Assert.False(CpuMatVec.Applies(tracked, weight));
    }
}
