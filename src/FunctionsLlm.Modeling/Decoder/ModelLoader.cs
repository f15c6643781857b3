using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>Where and in which precision to hold a model. Defaults: CUDA in bf16 when present, else CPU in fp32.</summary>
/// <param name="Quantize">Quantize the dense linear weights (all but lm_head, as transformers does) to 4 bits at load
/// (QLoRA on a full-precision base); weights a checkpoint already holds in 4 bits stay as they are.</param>
/// <param name="DequantizeFourBit">Load a 4-bit checkpoint's weights dense, dequantized (to merge into them); with
/// <paramref name="Quantize"/>, the dense weights quantized and dequantized: the base as QLoRA trained on it, held dense.</param>
public sealed record ModelLoadOptions(Device? Device = null, ScalarType? DType = null, FourBitOptions? Quantize = null, bool DequantizeFourBit = false)
{
    /// <summary>
    /// Hold the weights as llama.cpp's Q8_0 model does, for CPU inference in fp32: every linear weight and the output head
    /// in Q8_0 blocks (<see cref="Q8Weight"/>), the embedding table as the values of its Q8_0 blocks. A linear layer whose
    /// rows are not a multiple of 32 values stays dense.
    /// </summary>
    public bool Q8Weights { get; init; }

    /// <summary>
    /// Hold each dense linear weight (and a separate output head) packed for CPU inference (<see cref="PackedWeight"/>):
    /// where the model is on the CPU in fp32, the CPU has 512-bit vectors and the weight's rows are a multiple of 16;
    /// otherwise as without it. Its products take no gradient: a model to train loads without it.
    /// </summary>
    public bool PackedWeights { get; init; }

    /// <summary>Whether <see cref="PackedWeights"/> packs anything with these options on this CPU.</summary>
    internal bool Packs => PackedWeights && !Q8Weights && CpuPackedMatVec.Supported
        && ResolvedDevice.type == TorchSharp.DeviceType.CPU && ResolvedDType == ScalarType.Float32;

    public Device ResolvedDevice => Device ?? (cuda.is_available() ? CUDA : CPU);

    /// <summary>bf16 matmuls are far slower than fp32 on CPU (bench/README.md), so CPU computes in fp32 whatever the checkpoint holds.</summary>
    public ScalarType ResolvedDType => DType ?? (ResolvedDevice.type == TorchSharp.DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32);
}

/// <summary>Builds a <see cref="CausalLM"/> from a Hugging Face model directory (config + safetensors).</summary>
public static class ModelLoader
{
    public static CausalLM Load(string modelDir, ModelLoadOptions? options = null)
    {
        NativeRuntime.Configure();
        options ??= new ModelLoadOptions();
        var config = ModelConfig.Load(modelDir);
        var generation = GenerationConfig.Load(modelDir);
        if (config.Quantization is not null && config.Layout == CheckpointLayout.ChatGlm)
            throw new CheckpointException(modelDir, "a 4-bit checkpoint in ChatGLM's remote-code layout is not supported; quantize its Hugging Face glm form (e.g. one written by flm merge)");
        if (options.Q8Weights)
            CheckQ8(modelDir, config, options);
        using var checkpoint = CheckpointReader.Open(modelDir);
        using var weights = new WeightSource(checkpoint, config, modelDir, options);
        return Build(config, generation, weights.Take, weights.Linear, options.ResolvedDevice, options.ResolvedDType,
            options.Q8Weights ? TiedQ8Head : null);
    }

    private static void CheckQ8(string modelDir, ModelConfig config, ModelLoadOptions options)
    {
        if (options.ResolvedDevice.type != TorchSharp.DeviceType.CPU || options.ResolvedDType != ScalarType.Float32)
            throw new ArgumentException("Q8_0 weights are for CPU inference in fp32");
        if (options.Quantize is not null || options.DequantizeFourBit || config.Quantization is not null)
            throw new CheckpointException(modelDir, "Q8_0 weights are made from a full-precision checkpoint, not with 4-bit quantization");
    }

    // Tied embeddings: the output head multiplies by the table in Q8_0, as llama.cpp's output does with token_embd.
    private static LinearLayer? TiedQ8Head(Tensor embeddings) =>
        embeddings.shape[1] % Q8Blocks.Size == 0 ? new LinearLayer(Q8Weight.Quantize(embeddings), null) : null;

    /// <summary>
    /// A new model from config.json alone, initialised as HF does for training from scratch: weights
    /// N(0, initializer_range²), biases 0, norm weights 1.
    /// </summary>
    public static CausalLM Initialize(string modelDir, int seed, ModelLoadOptions? options = null)
    {
        NativeRuntime.Configure();
        options ??= new ModelLoadOptions();
        var config = ModelConfig.Load(modelDir);
        using var generator = new Generator((ulong)seed);
        Tensor Take(string name, long[] shape)
        {
            using var created = name.EndsWith("norm.weight", StringComparison.Ordinal) ? ones(shape, ScalarType.Float32)
                : name.EndsWith(".bias", StringComparison.Ordinal) ? zeros(shape, ScalarType.Float32)
                : empty(shape, ScalarType.Float32).normal_(0, config.InitializerRange, generator);
            return created.to(options.ResolvedDType, options.ResolvedDevice).DetachFromDisposeScope();
        }
        LinearLayer Linear(string name, long[] shape, bool bias, bool quantizable) =>
            new(Take(name + ".weight", shape), bias ? Take(name + ".bias", [shape[0]]) : null);
        return Build(config, GenerationConfig.Load(modelDir), Take, Linear, options.ResolvedDevice, options.ResolvedDType);
    }

    private static CausalLM Build(ModelConfig c, GenerationConfig generation, Func<string, long[], Tensor> take,
        Func<string, long[], bool, bool, LinearLayer> linear, Device device, ScalarType dtype, Func<Tensor, LinearLayer?>? tiedHead = null)
    {
        LinearLayer Linear(string name, long[] shape, bool bias) => linear(name, shape, bias, true);
        long hidden = c.HiddenSize, heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, headDim = c.HeadDim;
        var layers = new List<DecoderLayer>();
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            var attention = new Attention(c, i,
                Linear(p + "self_attn.q_proj", [heads * headDim, hidden], c.QkvBias),
                Linear(p + "self_attn.k_proj", [kvHeads * headDim, hidden], c.QkvBias),
                Linear(p + "self_attn.v_proj", [kvHeads * headDim, hidden], c.QkvBias),
                Linear(p + "self_attn.o_proj", [hidden, heads * headDim], c.OutputBias),
                c.QkNorm ? new RmsNorm(take(p + "self_attn.q_norm.weight", [headDim]), c.RmsNormEps) : null,
                c.QkNorm ? new RmsNorm(take(p + "self_attn.k_norm.weight", [headDim]), c.RmsNormEps) : null);
            var down = Linear(p + "mlp.down_proj", [hidden, c.IntermediateSize], c.MlpBias);
            var mlp = c.FusedGateUp
                ? Mlp.Fused(Linear(p + "mlp.gate_up_proj", [2L * c.IntermediateSize, hidden], c.MlpBias), down)
                : new Mlp(
                    Linear(p + "mlp.gate_proj", [c.IntermediateSize, hidden], c.MlpBias),
                    Linear(p + "mlp.up_proj", [c.IntermediateSize, hidden], c.MlpBias),
                    down);
            RmsNorm Norm(string name) => new(take(p + name + ".weight", [hidden]), c.RmsNormEps);
            layers.Add(new DecoderLayer(Norm("input_layernorm"), attention, Norm("post_attention_layernorm"), mlp,
                c.SublayerOutputNorms ? Norm("post_self_attn_layernorm") : null,
                c.SublayerOutputNorms ? Norm("post_mlp_layernorm") : null));
        }
        var stack = new DecoderStack(
            new Embedding(take("model.embed_tokens.weight", [c.VocabSize, hidden])),
            layers,
            new RmsNorm(take("model.norm.weight", [hidden]), c.RmsNormEps));
        var head = c.TieWordEmbeddings ? tiedHead?.Invoke(stack.embed_tokens.weight)
            : linear("lm_head", [c.VocabSize, hidden], false, false);   // as transformers, lm_head stays dense (but for Q8_0)
        var model = new CausalLM(c, generation, stack, head, device, dtype);
        model.eval();   // inference mode (no LoRA dropout) until a trainer asks for train()
        return model;
    }

    /// <summary>
    /// Reads tensors by their Hugging Face names (found under their remote-code names in a ChatGLM checkpoint), checks
    /// their shapes and converts them to the compute dtype and device; linear weights stay in or go to 4 bits as asked.
    /// </summary>
    private sealed class WeightSource(CheckpointReader checkpoint, ModelConfig config, string modelDir, ModelLoadOptions options) : IDisposable
    {
        private const long CopyChunkBytes = 4 << 20;
        private readonly Device _device = options.ResolvedDevice;
        private readonly WeightArena? _arena = options.ResolvedDevice.type == TorchSharp.DeviceType.CPU ? new WeightArena() : null;

        public void Dispose() => _arena?.Dispose();

        public Tensor Take(string name, long[] shape)
        {
            bool embeddings = name == "model.embed_tokens.weight";
            // An embedding table that is not also the head is read a row per token: left in the checkpoint's mapping, only
            // the rows prompts touch are resident (the bench model's 98 MB table copied whole raised its peak RSS by 60 MB).
            if (!options.Q8Weights || !embeddings || shape[1] % Q8Blocks.Size != 0)
                return embeddings && !config.TieWordEmbeddings ? Take(name, shape, options.ResolvedDType) : Kept(name, shape);
            var tensor = Take(name, shape, options.ResolvedDType);
            Q8Weight blocks;
            using (tensor)
                blocks = ConvertReleasing(name, released => Q8Weight.Quantize(tensor, released, arena: null));   // dequantized below: not kept
            using (blocks)
                return blocks.Dequantize(ScalarType.Float32).DetachFromDisposeScope();
        }

        // A weight kept as it is. On the CPU it goes into the arena a few MB of rows at a time: read from the file straight
        // into place where the checkpoint holds it in the compute dtype (no page fault per 4 KB of the mapping), else
        // converted from the mapping, whose pages of each chunk go back once it is copied (copied whole, a source and its
        // copy were resident at once: the head's 98 MB each set the F32 bench model's peak RSS).
        private Tensor Kept(string name, long[] shape)
        {
            if (_arena is null)
                return Take(name, shape, options.ResolvedDType);
            var (source, _, partRows) = Locate(name, shape);
            bool mapped = config.Layout == CheckpointLayout.HuggingFace && partRows < 0;
            bool direct = mapped && checkpoint.Info(source).DType.ToScalarType() == options.ResolvedDType;
            var kept = _arena.Allocate(shape, options.ResolvedDType);
            try
            {
                Fill(kept, name, shape, source, mapped, direct);
                return kept;
            }
            catch
            {
                kept.Dispose();
                throw;
            }
        }

        private void Fill(Tensor kept, string name, long[] shape, string source, bool mapped, bool direct)
        {
            long rows = shape.Length == 0 ? 1 : shape[0];
            if (kept.numel() == 0)
                return;
            using var keptRows = kept.reshape(rows, -1);
            using var converted = direct ? null : Take(name, shape, dtype: null);
            using var convertedRows = converted?.reshape(rows, -1);
            long rowBytes = keptRows.shape[1] * kept.ElementSize, chunk = Math.Max(1, CopyChunkBytes / Math.Max(1, rowBytes));
            for (long first = 0; first < rows; first += chunk)
            {
                long count = Math.Min(chunk, rows - first);
                using var to = keptRows.narrow(0, first, count);
                if (direct)
                {
                    checkpoint.ReadBytes(source, first * rowBytes, to.bytes);
                    continue;
                }
                using var from = convertedRows!.narrow(0, first, count);
                to.copy_(from);
                if (mapped)
                    checkpoint.Release(source, first, count);
            }
            if (mapped && !direct)
                checkpoint.Release(source);   // the pages the chunks share
        }

        // The checkpoint's pages of a tensor converted to Q8_0 or packed (a dense copy is not kept) go back to the system as
        // its rows are converted: with the whole source resident until the end, the embeddings' and the head's 98 MB each
        // set the bench model's peak RSS (491 MB; Q8_0 layers and all, 395 MB once loaded). The conversion gets the
        // callback to call after each range of rows (null where the tensor is not the checkpoint's own mapping).
        private T ConvertReleasing<T>(string name, Func<Action<long, long>?, T> convert)
        {
            bool mapped = config.Layout == CheckpointLayout.HuggingFace && checkpoint.Names.Contains(name);
            var converted = convert(mapped ? (first, rows) => checkpoint.Release(name, first, rows) : null);
            if (mapped)
                checkpoint.Release(name);   // the pages the row ranges share
            return converted;
        }

        public LinearLayer Linear(string name, long[] shape, bool bias, bool quantizable)
        {
            string weightName = name + ".weight";
            Tensor? Bias() => bias ? Take(name + ".bias", [shape[0]]) : null;
            if (options.Q8Weights && shape[1] % Q8Blocks.Size == 0)
            {
                Q8Weight blocks;
                using (var dense = Take(weightName, shape, options.ResolvedDType))
                    blocks = ConvertReleasing(weightName, released => Q8Weight.Quantize(dense, released, _arena));
                return new LinearLayer(blocks, Bias());
            }
            var fourBit = FourBit(weightName, shape, quantizable);
            if (fourBit is null && options.Packs && PackedWeight.Packs(shape))
            {
                PackedWeight packed;
                using (var dense = Take(weightName, shape, options.ResolvedDType))
                    packed = ConvertReleasing(weightName, released => PackedWeight.Pack(dense, released, _arena));
                return new LinearLayer(packed, Bias());
            }
            if (fourBit is null)
                return new LinearLayer(Take(weightName, shape), Bias());
            if (!options.DequantizeFourBit)
                return new LinearLayer(fourBit, Bias());
            using (fourBit)
                return new LinearLayer(fourBit.Dequantize(options.ResolvedDType).DetachFromDisposeScope(), Bias());
        }

        // The weight in 4 bits on the device: as the checkpoint stores it, or quantized from the checkpoint's own values
        // as asked; null when it stays dense.
        private FourBitWeight? FourBit(string weightName, long[] shape, bool quantizable)
        {
            using var stored = config.Layout == CheckpointLayout.HuggingFace ? Bnb4BitTensors.Read(checkpoint, weightName) : null;
            if (stored is not null)
            {
                if (!stored.State.Shape.SequenceEqual(shape))
                {
                    throw new CheckpointException(modelDir, $"the 4-bit weight '{weightName}' has shape [{string.Join(", ", stored.State.Shape)}], " +
                        $"config.json implies [{string.Join(", ", shape)}]");
                }
                return stored.ToWeight(_device);
            }
            if (options.Quantize is null || !quantizable)
                return null;
            using var dense = Take(weightName, shape, dtype: null);
            return FourBitWeight.Quantize(dense, options.Quantize);
        }

        // In the compute dtype, or with dtype null in the checkpoint's own.
        private Tensor Take(string name, long[] shape, ScalarType? dtype)
        {
            var (source, start, rows) = Locate(name, shape);
            using var whole = checkpoint.Read(source);
            using var slice = rows < 0 ? whole.alias() : whole.narrow(0, start, rows);
            return slice.to(dtype ?? slice.dtype, _device).DetachFromDisposeScope();
        }

        // Where the checkpoint holds tensor <name> (a ChatGLM tensor may be rows of another), its shape checked against <shape>.
        private (string Source, long Start, long Rows) Locate(string name, long[] shape)
        {
            var (source, start, rows) = config.Layout == CheckpointLayout.ChatGlm
                ? ChatGlmTensors.Locate(name, config) ?? throw new CheckpointException(modelDir, $"a ChatGLM checkpoint has no counterpart of '{name}'")
                : (name, 0, -1);
            if (!checkpoint.Names.Contains(source))
                throw new CheckpointException(modelDir, $"the checkpoint has no tensor '{source}', which config.json implies");
            var info = checkpoint.Info(source);
            long[] stored = rows < 0 ? info.Shape : [Math.Min(rows, info.Shape[0] - start), .. info.Shape[1..]];
            if (!stored.SequenceEqual(shape))
            {
                string part = rows < 0 ? "" : $" (rows {start}..{start + rows} of [{string.Join(", ", info.Shape)}])";
                throw new CheckpointException(modelDir,
                    $"tensor '{source}'{part} has shape [{string.Join(", ", stored)}], config.json implies [{string.Join(", ", shape)}]");
            }
            return (source, start, rows);
        }
    }
}
