using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public class CpuRotaryTests
{
    [Theory]
    [InlineData(1, 7, 4, 64, 1.0)]    // rows of a prompt, halves a multiple of 8
    [InlineData(2, 5, 3, 80, 1.0)]    // halves of 40: a vector and a scalar tail
    [InlineData(1, 3, 2, 128, 0.5)]   // partial rotary: the last 64 values pass through
    [InlineData(1, 1, 6, 12, 1.0)]    // halves shorter than a vector
    public void Gives_the_bits_of_rotary_embedding_apply_with_heads_first(int batch, int length, int heads, int headDim, double partial)
    {
        var config = new ModelConfig
        {
            ModelType = "llama", HiddenSize = heads * headDim, IntermediateSize = 64, NumHiddenLayers = 1,
            NumAttentionHeads = heads, NumKeyValueHeadsOrNull = heads, HeadDimOrNull = headDim, VocabSize = 32, MaxPositionEmbeddings = 64,
            PartialRotaryFactor = partial,
        };
        var generator = new Generator(41);
        using var noGrad = no_grad();
        using var rotary = new RotaryEmbedding(config, CPU, ScalarType.Float32);
        using var x = randn([batch, length, heads, headDim], generator: generator);
        using var positions = randint(0, 60, [batch, length], ScalarType.Int64, generator: generator);
        var (cos, sin) = rotary.For(positions, 60);
        using var cosOwned = cos;
        using var sinOwned = sin;
        Assert.True(CpuRotary.Applies(x, cos, interleaved: false));

        using var actual = CpuRotary.HeadsFirst(x, cos, sin);

        using var transposed = x.transpose(1, 2);
        using var expected = RotaryEmbedding.Apply(transposed, cos, sin);
        Assert.True(actual.is_contiguous());
        TensorAssert.Equal(expected, actual);
    }

    [Fact]
    public void Interleaved_rotary_autograd_and_strided_inputs_take_libtorchs_path()
    {
        using var x = randn(1, 4, 2, 16);
        using var cos = randn(1, 1, 4, 16);
        using var strided = randn(1, 2, 4, 16).transpose(1, 2);
        Assert.False(CpuRotary.Applies(x, cos, interleaved: false));   // autograd on
        using var noGrad = no_grad();
        Assert.True(CpuRotary.Applies(x, cos, interleaved: false));
        Assert.False(CpuRotary.Applies(x, cos, interleaved: true));
        Assert.False(CpuRotary.Applies(strided, cos, interleaved: false));
    }
}
