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

        TensorAssert.CloseRelative(expected, actual, 1e-5);
    }

    [Theory]
    [InlineData(2, 7, 13)]
    [InlineData(5, 1030, 771)]   // with 512-bit vectors a group of four and one row in one sweep, two threads, ragged split
    [InlineData(6, 1030, 771)]   // a group of four and two rows
    [InlineData(7, 301, 2050)]   // a group of four and three rows over wide rows ending in a tail; an odd weight row
    [InlineData(8, 4096, 768)]
    [InlineData(7, 302, 1000)]   // three weight rows times seven over rows ending in a tail, two rows left after the thirds
    [InlineData(6, 300, 1500)]   // three weight rows times six over rows wider than L1's span, ending in a tail
    [InlineData(8, 770, 2048)]   // three weight rows times eight in two column passes (down's shape), rows left after the thirds
    [InlineData(13, 1030, 771)]  // three groups of four, then one
    [InlineData(15, 33, 64)]     // three groups of four, then three; an odd weight row
    [InlineData(16, 33, 64)]     // four groups of four; an odd weight row
    [InlineData(9, 301, 2050)]   // two groups of four over wide rows ending in a tail, then one; an odd weight row
    [InlineData(8, 40, 3000)]    // two groups of four over rows wider than L1
    public void Several_rows_match_libtorchs_linear_and_each_row_gets_the_bits_it_gets_alone(int inputRows, int rows, int columns)
    {
        var generator = new Generator(6);
        using var weight = randn([rows, columns], generator: generator);
        using var bias = randn([rows], generator: generator);
        using var x = randn([inputRows, 1, columns], generator: generator);
        using var noGrad = no_grad();
        Assert.True(CpuMatVec.Applies(x, weight));

        using var expected = nn.functional.linear(x, weight, bias);
        using var actual = CpuMatVec.Multiply(x, weight, bias);

        TensorAssert.CloseRelative(expected, actual, 1e-5);
        for (int i = 0; i < inputRows; i++)
        {
            using var row = x[i].unsqueeze(0);
            using var alone = CpuMatVec.Multiply(row, weight, bias);
            using var batched = actual[i];
            Assert.True((alone.squeeze() == batched.squeeze()).all().item<bool>(), $"input row {i} differs from its result alone");
        }
    }

    [Theory]
    [InlineData(45, 1030, 771)]  // five blocks of eight and five rows left (four and one), two threads, ragged split; panels of 96 weight rows, the last of 36 and of 34 (a row after the thirds)
    [InlineData(512, 768, 768)]  // a prompt of the bench model's q/o shape
    [InlineData(24, 34, 64)]     // one panel, a weight row after the thirds
    [InlineData(21, 300, 2048)]  // two blocks of eight over 2,048 columns (down's width), five rows left; panels of 48 weight rows, the last of 8 and of 4 (rows after the thirds)
    [InlineData(19, 91, 1536)]   // two blocks of eight, three rows left; panels of 48 weight rows and one of 43 (a row after the thirds)
    public void A_prompt_matches_libtorchs_linear_and_each_row_gets_the_bits_it_gets_alone(int inputRows, int rows, int columns)
    {
        var generator = new Generator(7);
        using var weight = randn([rows, columns], generator: generator);
        using var bias = randn([rows], generator: generator);
        using var x = randn([1, inputRows, columns], generator: generator);
        using var noGrad = no_grad();
        if (CpuMatVec.PromptBlockRows(columns) == 0)
        {
            Assert.False(CpuMatVec.Applies(x, weight));   // without 512-bit vectors a prompt is libtorch's
            return;
        }
        Assert.True(CpuMatVec.Applies(x, weight));

        using var expected = nn.functional.linear(x, weight, bias);
        using var actual = CpuMatVec.Multiply(x, weight, bias);

        TensorAssert.CloseRelative(expected, actual, 1e-5);
        for (int i = 0; i < inputRows; i++)
        {
            using var scope = NewDisposeScope();   // the comparison's tensors
            using var row = x[0, i].unsqueeze(0);
            using var alone = CpuMatVec.Multiply(row, weight, bias);
            using var prefilled = actual[0, i];
            Assert.True((alone.squeeze() == prefilled).all().item<bool>(), $"prompt row {i} differs from its result alone");
        }
    }

    [Fact]
    public void Wide_prompts_prompts_under_autograd_gradients_and_other_dtypes_take_libtorchs_path()
    {
        using var weight = randn(8, 4);
        using var prompt = randn(CpuMatVec.MaxInputRows + 1, 4);   // autograd on (a training forward), nothing tracked
        using var wide = randn(8, 2049);
        using var widePrompt = randn(CpuMatVec.MaxInputRows + 1, 2049);
        Assert.True(is_grad_enabled());
        Assert.False(CpuMatVec.Applies(prompt, weight));
        using var half = randn(1, 4).to(ScalarType.BFloat16);
        using var tracked = randn(1, 4).requires_grad_();
        using var wrongWidth = randn(2, 8);
        using (no_grad())
            Assert.False(CpuMatVec.Applies(widePrompt, wide));
        Assert.False(CpuMatVec.Applies(half, weight));
        Assert.False(CpuMatVec.Applies(tracked, weight));
        Assert.False(CpuMatVec.Applies(wrongWidth, weight));
    }
}
