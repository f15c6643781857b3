using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public class LinearLayerTests
{
    [Fact]
    public void Q8_0_layers_forwarded_together_give_each_layers_own_output_bit_for_bit()
    {
        var generator = new Generator(31);
        using var noGrad = no_grad();
        using var q = new LinearLayer(Q8Weight.Quantize(randn([96, 64], generator: generator)), null);
        using var k = new LinearLayer(Q8Weight.Quantize(randn([32, 64], generator: generator)), null);
        using var v = new LinearLayer(Q8Weight.Quantize(randn([32, 64], generator: generator)), null);
        using var x = randn([2, 21, 64], generator: generator);

        var together = LinearLayer.ForwardAll(x, q, k, v);

        LinearLayer[] layers = [q, k, v];
        for (int i = 0; i < layers.Length; i++)
        {
            using var alone = layers[i].forward(x);
            using var output = together[i];
            TensorAssert.Equal(alone, output, $"output {i}");
        }
    }

    [Fact]
    public void Beside_a_layer_with_a_bias_or_an_adapter_each_layer_is_forwarded_with_what_it_adds()
    {
        var generator = new Generator(32);
        using var noGrad = no_grad();
        using var plain = new LinearLayer(Q8Weight.Quantize(randn([32, 64], generator: generator)), null);
        using var biased = new LinearLayer(Q8Weight.Quantize(randn([32, 64], generator: generator)), randn([32], generator: generator));
        using var adapted = new LinearLayer(Q8Weight.Quantize(randn([32, 64], generator: generator)), null);
        adapted.AttachLora(rank: 2, scaling: 2.0, dropout: 0);
        adapted.lora_A!.weight.copy_(randn([2, 64], generator: generator));
        adapted.lora_B!.weight.copy_(randn([32, 2], generator: generator));
        using var x = randn([1, 5, 64], generator: generator);

        foreach (var other in new[] { biased, adapted })
        {
            using var scope = NewDisposeScope();   // the outputs
            var together = LinearLayer.ForwardAll(x, plain, other);
            TensorAssert.Equal(plain.forward(x), together[0], "the plain layer");
            TensorAssert.Equal(other.forward(x), together[1], other == biased ? "the biased layer" : "the adapted layer");
            Assert.True(TensorAssert.MaxDifference(other.Q8!.Project(x, null), together[1]) > 1e-3, "what the layer adds is in its output");
        }
    }
}
