using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>What every layer's attention shares in one forward pass: rotary tables, mask, cache.</summary>
/// <param name="Cos">(B, 1, T, head_dim)</param>
/// <param name="Sin">(B, 1, T, head_dim)</param>
/// <param name="Mask">(B, 1, T, S) true where a query may attend to a key; null when <paramref name="IsCausal"/>
/// says plain causal attention is exact, or when a single new token may see every cached key.</param>
/// <param name="IsCausal">No mask and T &gt; 1 from an empty cache: causal attention on the fused kernel.</param>
/// <param name="Cache">Keys and values of earlier positions; null for a stand-alone forward.</param>
/// <param name="PlainCausal">T &gt; 1 new tokens, no padding and no window: each sees every cached key and the new ones
/// up to its own (<paramref name="IsCausal"/>, or after cached keys the mask says just that).</param>
internal sealed record AttentionInputs(Tensor Cos, Tensor Sin, Tensor? Mask, bool IsCausal, KvCache? Cache, bool PlainCausal = false);
