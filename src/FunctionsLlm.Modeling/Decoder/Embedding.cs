using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>Token embedding table (vocab, hidden); also the output projection when embeddings are tied.</summary>
public sealed class Embedding : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;

    public Embedding(Tensor weight) : base(nameof(Embedding))
    {
        this.weight = new TorchSharp.Modules.Parameter(weight, requires_grad: false);
        RegisterComponents();
    }

    /// <summary>(B, T) token ids → (B, T, hidden).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = weight.index_select(0, flat);
        return rows.view(ids.shape[0], ids.shape[1], weight.shape[1]);
    }
}
