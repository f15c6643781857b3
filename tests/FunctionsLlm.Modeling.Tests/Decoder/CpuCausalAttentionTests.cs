using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public class CpuCausalAttentionTests
{
    [Theory]
    [InlineData(1, 4, 4, 2, 16, 0)]     // two queries, one key chunk
    [InlineData(1, 12, 4, 512, 64, 0)]  // the bench model's shapes
    [InlineData(2, 6, 2, 37, 64, 0)]    // two sequences, a last block of five queries, keys not a multiple of 16
    [InlineData(1, 2, 1, 129, 80, 0)]   // head_dim an odd multiple of 16, one KV head for both query heads
    [InlineData(1, 3, 3, 9, 128, 0)]
    [InlineData(1, 12, 4, 128, 64, 1872)]  // the last chunk of a 2,000-token prompt after 1,872 cached positions
    [InlineData(2, 6, 2, 13, 64, 5)]       // a chunk of 13 after 5 cached positions: blocks straddle key chunks
    [InlineData(1, 2, 2, 2, 16, 30)]
    public void Matches_causal_softmax_attention_in_fp64(int batch, int heads, int kvHeads, int length, int headDim, int past)
    {
        var generator = new Generator(21);
        using var q = randn([batch, heads, length, headDim], generator: generator);
        using var k = randn([batch, kvHeads, past + length, headDim], generator: generator);
        using var v = randn([batch, kvHeads, past + length, headDim], generator: generator);
        using var noGrad = no_grad();
        if (!CpuCausalAttention.Applies(q, k, v))
        {
            Assert.False(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);   // without 512-bit vectors, libtorch's
            return;
        }

        using var actual = CpuCausalAttention.Attend(q, k, v);

        using var expected = Reference(q, k, v);
        Assert.Equal([batch, length, heads * headDim], actual.shape);
        TensorAssert.CloseRelative(expected, actual, 2e-6);
    }

    [Fact]
    public void Autograd_tracked_inputs_other_dtypes_and_fewer_keys_than_queries_take_libtorchs_path()
    {
        using var q = randn(1, 2, 8, 16);
        using var k = randn(1, 2, 8, 16);
        using var shorter = randn(1, 2, 7, 16);
        using var narrow = randn(1, 2, 8, 8);
        using var half = randn(1, 2, 8, 16).to(ScalarType.BFloat16);
        Assert.True(is_grad_enabled());
        Assert.False(CpuCausalAttention.Applies(q, k, k));
        using var noGrad = no_grad();
        Assert.False(CpuCausalAttention.Applies(q, shorter, shorter));
        Assert.False(CpuCausalAttention.Applies(narrow, narrow, narrow));
        Assert.False(CpuCausalAttention.Applies(half, half, half));
    }

    /// <summary>
    /// softmax(q·Kᵀ/√d + causal mask) V in fp64, query i at position S − T + i, K and V repeated per group as HF's
    /// repeat_kv, as (B, T, heads·d).
    /// </summary>
    private static Tensor Reference(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        long batch = q.shape[0], heads = q.shape[1], length = q.shape[2], headDim = q.shape[3], groups = heads / k.shape[1];
        long keyCount = k.shape[2];
        var q64 = q.to(ScalarType.Float64);
        var k64 = k.to(ScalarType.Float64).repeat_interleave(groups, 1);
        var v64 = v.to(ScalarType.Float64).repeat_interleave(groups, 1);
        var scores = q64.matmul(k64.transpose(2, 3)) / Math.Sqrt(headDim);
        var future = ones(length, keyCount, ScalarType.Bool).triu(keyCount - length + 1);
        var weights = scores.masked_fill(future, double.NegativeInfinity).softmax(-1);
        return weights.matmul(v64).transpose(1, 2).reshape(batch, length, heads * headDim).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
