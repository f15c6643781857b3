using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

/// <summary>Packed weights (<see cref="PackedWeight"/>, <see cref="CpuPackedMatVec"/>) against libtorch's linear.</summary>
public class PackedWeightTests
{
    [Theory]
    [InlineData(1, 16, 13)]       // one block, one thread, odd columns
    [InlineData(1, 48, 771)]      // one triple
    [InlineData(1, 1040, 771)]    // 65 blocks over two threads (33 and 32): triples and blocks left after the thirds
    [InlineData(1, 4096, 768)]
    [InlineData(3, 80, 2050)]     // five blocks: one triple and two single blocks, wide rows
    [InlineData(8, 1040, 771)]
    [InlineData(7, 2048, 768)]
    [InlineData(8, 768, 2048)]    // down's shape
    [InlineData(9, 1040, 771)]    // a group of eight and one
    [InlineData(16, 256, 64)]     // two groups of eight, one thread
    [InlineData(13, 320, 100)]
    [InlineData(45, 1040, 771)]   // a prompt: five groups of eight and five
    [InlineData(512, 768, 768)]   // a prompt of the bench model's q/o shape
    [InlineData(21, 160, 2048)]
    public void Products_match_libtorchs_linear_and_each_row_gets_the_bits_it_gets_alone(int inputRows, int rows, int columns)
    {
        var generator = new Generator(8);
        using var weight = randn([rows, columns], generator: generator);
        using var bias = randn([rows], generator: generator);
        using var x = randn([1, inputRows, columns], generator: generator);
        using var noGrad = no_grad();
        if (!CpuPackedMatVec.Supported)
        {
            Assert.False(PackedWeight.Packs(weight.shape));   // without 512-bit vectors nothing is packed
            return;
        }
        using var packed = PackedWeight.Pack(weight);

        using var expected = nn.functional.linear(x, weight, bias);
        using var actual = packed.Project(x, bias);

        TensorAssert.CloseRelative(expected, actual, 1e-5);
        for (int i = 0; i < inputRows; i++)
        {
            using var scope = NewDisposeScope();
            var alone = packed.Project(x[0, i].unsqueeze(0), bias);
            Assert.True(alone.squeeze(0).eq(actual[0, i]).all().item<bool>(), $"input row {i} differs from its result alone");
        }
    }

    [Fact]
    public void Unpacking_gives_the_weight_back_bit_for_bit()
    {
        if (!CpuPackedMatVec.Supported)
            return;
        var generator = new Generator(9);
        using var weight = randn([1040, 771], generator: generator);
        var released = new List<(long First, long Rows)>();
        using var packed = PackedWeight.Pack(weight, (first, rows) => released.Add((first, rows)));
        using var unpacked = packed.Unpack();

        Assert.Equal(weight.shape, unpacked.shape);
        Assert.True(weight.eq(unpacked).all().item<bool>());
        // Every row handed back once, in order, in chunks of whole blocks.
        Assert.Equal(0, released[0].First);
        Assert.Equal(1040, released.Sum(r => r.Rows));
        Assert.All(released, r => Assert.Equal(0, r.Rows % CpuPackedMatVec.BlockRows));
        Assert.All(released.Skip(1).Zip(released), p => Assert.Equal(p.Second.First + p.Second.Rows, p.First.First));
    }

    [Fact]
    public void Rows_not_in_blocks_of_sixteen_and_inputs_needing_a_gradient_are_refused()
    {
        if (!CpuPackedMatVec.Supported)
            return;
        using var ragged = zeros(40, 64);
        Assert.False(PackedWeight.Packs(ragged.shape));
        Assert.Throws<ArgumentException>(() => PackedWeight.Pack(ragged));

        using var weight = zeros(32, 64);
        using var packed = PackedWeight.Pack(weight);
        using var x = zeros([2, 64], requires_grad: true);
        var error = Assert.Throws<InvalidOperationException>(() => packed.Project(x, null));
        Assert.Contains("inference", error.Message);
        using var wrongWidth = zeros(2, 65);
        Assert.Throws<ArgumentException>(() => packed.Project(wrongWidth, null));
    }
}
