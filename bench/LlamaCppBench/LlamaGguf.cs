using System.Globalization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Gguf;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// Converts a Hugging Face llama checkpoint directory (config.json + safetensors) to an F32 GGUF that llama.cpp
/// loads as architecture "llama", the way llama.cpp's own HF converter lays it out: its hyper-parameter keys, its
/// tensor names, dims reversed, and q/k rows permuted from HF's rotate-half rotary layout to llama.cpp's
/// interleaved one. The tokenizer is synthetic (the bench feeds token ids, never text): a SentencePiece-style
/// vocabulary shaped like Llama 2's — &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, 256 byte tokens, then placeholders.
/// </summary>
internal static class LlamaGguf
{
    private const int ByteTokens = 256;
    private const int FirstByteToken = 3;

    public static void Convert(string modelDir, string ggufPath)
    {
        var c = ModelConfig.Load(modelDir);
        if (c.ModelType != "llama")
            throw new NotSupportedException($"{modelDir}: model_type '{c.ModelType}'; this converter writes llama only");
        if (c.RopeScaling is not null || c.AttentionBias || c.MlpBias)
            throw new NotSupportedException($"{modelDir}: rope_scaling and biases are not converted");
        if (c.VocabSize < FirstByteToken + ByteTokens)
            throw new NotSupportedException($"{modelDir}: vocab_size {c.VocabSize} leaves no room for the synthetic tokenizer's byte tokens");

        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "llama");
        gguf.Add("general.name", Path.GetFileName(Path.GetFullPath(modelDir)));
        gguf.Add("general.file_type", 0u); // all F32
        gguf.Add("general.alignment", (uint)GgufWriter.Alignment);
        gguf.Add("llama.vocab_size", (uint)c.VocabSize);
        gguf.Add("llama.context_length", (uint)c.MaxPositionEmbeddings);
        gguf.Add("llama.embedding_length", (uint)c.HiddenSize);
        gguf.Add("llama.block_count", (uint)c.NumHiddenLayers);
        gguf.Add("llama.feed_forward_length", (uint)c.IntermediateSize);
        gguf.Add("llama.attention.head_count", (uint)c.NumAttentionHeads);
        gguf.Add("llama.attention.head_count_kv", (uint)c.NumKeyValueHeads);
        gguf.Add("llama.attention.key_length", (uint)c.HeadDim);
        gguf.Add("llama.attention.value_length", (uint)c.HeadDim);
        gguf.Add("llama.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        gguf.Add("llama.rope.freq_base", (float)c.RopeTheta);
        gguf.Add("llama.rope.dimension_count", (uint)c.HeadDim);
        AddTokenizer(gguf, c);

        using var checkpoint = CheckpointReader.Open(modelDir);
        void Tensor(string ggufName, string hfName, int permuteHeads = 0) =>
            gguf.AddTensor(ggufName, [.. checkpoint.Info(hfName).Shape.Reverse()], GgmlType.F32, stream => WriteTensor(checkpoint, hfName, permuteHeads, stream));

        Tensor("token_embd.weight", "model.embed_tokens.weight");
        Tensor("output_norm.weight", "model.norm.weight");
        if (!c.TieWordEmbeddings)
            Tensor("output.weight", "lm_head.weight"); // absent: llama.cpp reuses token_embd
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string hf = string.Create(CultureInfo.InvariantCulture, $"model.layers.{i}."), blk = string.Create(CultureInfo.InvariantCulture, $"blk.{i}.");
            Tensor(blk + "attn_norm.weight", hf + "input_layernorm.weight");
            Tensor(blk + "attn_q.weight", hf + "self_attn.q_proj.weight", c.NumAttentionHeads);
            Tensor(blk + "attn_k.weight", hf + "self_attn.k_proj.weight", c.NumKeyValueHeads);
            Tensor(blk + "attn_v.weight", hf + "self_attn.v_proj.weight");
            Tensor(blk + "attn_output.weight", hf + "self_attn.o_proj.weight");
            Tensor(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight");
            Tensor(blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight");
            Tensor(blk + "ffn_up.weight", hf + "mlp.up_proj.weight");
            Tensor(blk + "ffn_down.weight", hf + "mlp.down_proj.weight");
        }
        gguf.Write(ggufPath);
    }

    private static void WriteTensor(CheckpointReader checkpoint, string name, int permuteHeads, Stream stream)
    {
        using var scope = NewDisposeScope();
        var weight = checkpoint.Read(name);
        if (permuteHeads > 0)
            weight = GgufTensorPlan.PermuteForInterleavedRope(weight, permuteHeads);
        GgufTensorEncoder.Write(weight, GgmlType.F32, stream);
    }

    private static void AddTokenizer(GgufWriter gguf, ModelConfig c)
    {
        var tokens = new string[c.VocabSize];
        var types = new int[c.VocabSize];   // llama_token_type: 1 normal, 2 unknown, 3 control, 6 byte
        var scores = new float[c.VocabSize];
        (tokens[0], types[0]) = ("<unk>", 2);
        (tokens[1], types[1]) = ("<s>", 3);
        (tokens[2], types[2]) = ("</s>", 3);
        for (int b = 0; b < ByteTokens; b++)
            (tokens[FirstByteToken + b], types[FirstByteToken + b]) = (string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>"), 6);
        for (int i = FirstByteToken + ByteTokens; i < c.VocabSize; i++)
        {
            tokens[i] = string.Create(CultureInfo.InvariantCulture, $"▁t{i}");
            types[i] = 1;
            scores[i] = -i;
        }
        gguf.Add("tokenizer.ggml.model", "llama");
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.scores", scores);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.unknown_token_id", 0u);
        gguf.Add("tokenizer.ggml.bos_token_id", (uint)(c.BosTokenId?.FirstOrDefault() ?? 1));
        gguf.Add("tokenizer.ggml.eos_token_id", (uint)(c.EosTokenId?.FirstOrDefault() ?? 2));
    }
}
