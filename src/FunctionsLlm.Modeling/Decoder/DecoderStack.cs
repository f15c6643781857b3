using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The <c>model.*</c> part of a causal LM checkpoint: embeddings, layers, final norm.</summary>
public sealed class DecoderStack : nn.Module
{
    public readonly Embedding embed_tokens;
    public readonly TorchSharp.Modules.ModuleList<DecoderLayer> layers;
    public readonly RmsNorm norm;

    public DecoderStack(Embedding embed_tokens, IEnumerable<DecoderLayer> layers, RmsNorm norm) : base(nameof(DecoderStack))
    {
        this.embed_tokens = embed_tokens;
        this.layers = nn.ModuleList([.. layers]);
        this.norm = norm;
        RegisterComponents();
    }
}
