using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Generation;

/// <summary>The managed greedy pick and log-softmax shift against libtorch's argmax and log_softmax.</summary>
public class LogitRowsTests
{
    [Theory]
    [InlineData(32000)]
    [InlineData(1003)]   // a length that ends in a partial vector
    [InlineData(5)]      // shorter than one vector
    public void Argmax_and_log_probabilities_match_libtorchs_for_every_row_of_a_batch(int vocab)
    {
        using var scope = NewDisposeScope();
        var logits = randn([4, 1, vocab], generator: new Generator(11)).mul_(4).select(1, 0);
        Assert.True(LogitRows.Readable(logits));
        using var expectedIds = logits.argmax(1);
        using var expectedLogprobs = logits.log_softmax(1);
        long[] ids = expectedIds.data<long>().ToArray();
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal((int)ids[r], LogitRows.Argmax(LogitRows.Row(logits, r)));
            // A single row as libtorch hands it out (a view into the batch) reads the same values.
            using var row = logits[r];
            var (max, logSum) = LogitRows.LogSoftmaxShift(LogitRows.Row(row, 0));
            float[] values = row.data<float>().ToArray(), expected = expectedLogprobs[r].data<float>().ToArray();
            for (int id = 0; id < vocab; id++)
                Assert.Equal(expected[id], values[id] - max - logSum, 1e-5f);
        }
    }

    [Fact]
    public void A_batchs_rows_spread_over_the_kernel_threads_get_what_each_gets_alone()
    {
        using var scope = NewDisposeScope();
        var logits = randn([9, 2000], generator: new Generator(5));
        int[] rows = [0, 2, 3, 5, 6, 8];
        var ids = Enumerable.Repeat(-1, 9).ToArray();
        LogitRows.Argmax(logits, rows, ids);
        var shifts = LogitRows.LogSoftmaxShifts(logits, rows);
        long[] expected = logits.argmax(1).data<long>().ToArray();
        for (int r = 0; r < 9; r++)
            Assert.Equal(rows.Contains(r) ? (int)expected[r] : -1, ids[r]);
        for (int k = 0; k < rows.Length; k++)
            Assert.Equal(LogitRows.LogSoftmaxShift(LogitRows.Row(logits, rows[k])), shifts[k]);
    }

    [Theory]
    [InlineData(new[] { 5, 17 }, new int[0], 5)]          // ties: the first maximum
    [InlineData(new[] { 900 }, new[] { 700, 950 }, 700)]  // NaN: the first NaN, wherever the maximum is
    [InlineData(new[] { 3 }, new[] { 1002 }, 1002)]       // a NaN in the tail after the whole vectors
    [InlineData(new[] { 1001, 9 }, new int[0], 9)]        // ties in different lanes, one in the tail
    [InlineData(new[] { 10, 7 }, new int[0], 7)]          // ties in different lanes, the first of them in the later lane
    public void Ties_and_NaNs_pick_what_libtorchs_argmax_picks(int[] maxima, int[] nans, int expected)
    {
        var values = Enumerable.Range(0, 1003).Select(i => (float)Math.Sin(i) - 2f).ToArray();
        foreach (int at in maxima)
            values[at] = 7f;
        foreach (int at in nans)
            values[at] = float.NaN;
        using var logits = tensor(values);
        using var torchPick = logits.argmax();
        Assert.Equal(expected, torchPick.item<long>());
        Assert.Equal(expected, LogitRows.Argmax(values));
    }

    [Fact]
    public void A_row_of_negative_infinities_picks_the_first_as_libtorch_does()
    {
        var values = Enumerable.Repeat(float.NegativeInfinity, 40).ToArray();
        using var logits = tensor(values);
        using var torchPick = logits.argmax();
        Assert.Equal(torchPick.item<long>(), LogitRows.Argmax(values));
    }

    [Fact]
    public void Tensors_off_the_cpu_path_are_not_readable()
    {
        using var half = zeros(8, ScalarType.Float16);
        using var strided = zeros(8, 8).t();
        Assert.False(LogitRows.Readable(half));
        Assert.False(LogitRows.Readable(strided));
    }
}
