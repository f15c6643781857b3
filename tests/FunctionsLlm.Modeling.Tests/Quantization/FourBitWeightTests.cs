using TorchSharp;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>A 4-bit weight computes as its dequantized dense weight does, in forward and in libtorch's own backward.</summary>
public sealed class FourBitWeightTests
{
    [Fact]
    public void Forward_and_the_input_gradient_equal_libtorchs_on_the_dequantized_weight()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        var dense = randn([96, 128], generator: generator);
        using var weight = FourBitWeight.Quantize(dense, FourBitOptions.Nf4);
        var dequantized = weight.Dequantize(ScalarType.Float32);
        var bias = randn([96], generator: generator);
        var upstream = randn([2, 7, 96], generator: generator);

        var x = randn([2, 7, 128], generator: generator).requires_grad_(true);
        var y = weight.Project(x, bias);
        y.mul(upstream).sum().backward();

        var reference = x.detach().clone().requires_grad_(true);
        var expected = nn.functional.linear(reference, dequantized, bias);
        expected.mul(upstream).sum().backward();

        TensorAssert.Close(expected, y, 1e-5, "forward");
        TensorAssert.Close(reference.grad!, x.grad!, 1e-5, "input gradient");
        // without a gradient the same product is taken directly
        using (no_grad())
            TensorAssert.Close(expected, weight.Project(x, bias), 1e-5, "no_grad forward");
    }

    [Theory]
    [InlineData("nf4", 64)]
    [InlineData("fp4", 32)]
    [InlineData("nf4", 256)]
    public void The_cpu_kernel_dequantizes_as_the_tensor_ops_bit_for_bit(string type, int blockSize)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        using var small = 0.02.ToScalar();
        var dense = randn([96, 512], generator: generator).mul_(small);
        var options = new FourBitOptions(FourBitType.Parse(type), blockSize);
        using var weight = FourBitWeight.Quantize(dense, options);

        var kernel = weight.Dequantize(ScalarType.Float32);
        var ops = FourBitQuantizer.Dequantize(weight.Packed, weight.Absmax, dense.numel(), FourBitType.PairTable(options.Type.Values, CPU), blockSize);

        TensorAssert.Equal(ops.view(96, 512), kernel, $"{type}, blocks of {blockSize}");
    }

    [Fact]
    public void Dequantized_values_are_within_half_an_nf4_gap_of_the_weight()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(6);
        var dense = randn([64, 64], generator: generator);
        using var weight = FourBitWeight.Quantize(dense, FourBitOptions.Nf4);
        var blockAbsmax = dense.reshape(-1, 64).abs().amax([1]).unsqueeze(1);
        var error = weight.Dequantize(ScalarType.Float32).reshape(-1, 64).sub(dense.reshape(-1, 64)).abs().div(blockAbsmax);
        // NF4's widest gap, between −1 and −0.6962, halved
        Assert.True(error.max().item<float>() <= (1 - 0.6961928f) / 2 + 1e-6f, $"worst relative error {error.max().item<float>()}");
        Assert.Equal([64L, 64L], weight.Shape);
        Assert.Equal(64 * 64 / 2, weight.Packed.numel());
    }
}
