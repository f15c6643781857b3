using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <param name="ParityPrompts">Token ids to compare merged and base+adapter logits on; null for 4 seeded random prompts of 24 tokens.</param>
/// <param name="Tolerance">Largest allowed |logit difference| of the written model; null for 1e-3 with F32 weights, and
/// with F16/BF16 weights 1% of the largest |logit| (at least 0.05): storing W + ΔW in 16 bits rounds each weight by up
/// to 2⁻⁸ of itself, which moves logits by about that share of their size.</param>
/// <param name="MaxShardBytes">Shard size of the written checkpoint (transformers' default 5 GB).</param>
/// <param name="QuantizedBase">The adapter was trained on the base quantized so (QLoRA): merge into that base, its linear
/// weights quantized and dequantized, so the merged model is the one trained (and 16 bits can hold it, bench/README.md);
/// null merges into the base as stored. Ignored for a base stored in 4 bits, which is merged into dequantized anyway.</param>
public sealed record LoraMergeOptions(IReadOnlyList<int[]>? ParityPrompts = null, double? Tolerance = null, long MaxShardBytes = 5L << 30,
    FourBitOptions? QuantizedBase = null);

/// <param name="MaxLogitDifference">Written model vs base + adapter.</param>
/// <param name="MaxLogitDifferenceFp32">fp32 merged weights (before storing) vs base + adapter: the merge arithmetic alone.</param>
/// <param name="DequantizedBase">The base was a 4-bit checkpoint, or was quantized as <see cref="LoraMergeOptions.QuantizedBase"/>
/// says: its weights were dequantized (to the dtype they came in) and the merged model is dense; the parity gate compared
/// against the dequantized base + adapter.</param>
public sealed record LoraMergeResult(string OutputDir, IReadOnlyList<string> MergedModules, double MaxLogitDifference, double Tolerance,
    double MaxLogitDifferenceFp32, bool DequantizedBase = false);

/// <summary>
/// Folds an adapter into its base model: W ← W + scaling·B·A in fp32, checked finite, cast back to the checkpoint's
/// dtype; writes a complete Hugging Face model directory (weights, config, tokenizer, generation config, chat
/// template) only if it passes the parity gate: the fp32 merged weights must reproduce base + adapter logits within
/// 1e-3 (the arithmetic), and the model as written and reloaded within <see cref="LoraMergeOptions.Tolerance"/>.
/// A 4-bit (bitsandbytes) base is dequantized first and the merged model written dense, without quantization_config.
/// </summary>
public static class LoraMerger
{
    public static LoraMergeResult Merge(string baseDir, string adapterDir, string outDir, LoraMergeOptions? options = null)
    {
        options ??= new LoraMergeOptions();
        outDir = Path.GetFullPath(outDir);
        if (Path.GetFullPath(baseDir).TrimEnd('/') == outDir.TrimEnd('/'))
            throw new LoraException($"{outDir}: the merged model cannot overwrite its base");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !File.Exists(Path.Combine(outDir, "config.json")))
            throw new LoraException($"{outDir}: exists and is not a model directory; refusing to replace it");

        var cpu32 = new ModelLoadOptions(CPU, ScalarType.Float32);
        var quantizeBase = ModelConfig.Load(baseDir).Quantization is null ? options.QuantizedBase : null;
        using var reference = ModelLoader.Load(baseDir, cpu32 with { Quantize = quantizeBase, DequantizeFourBit = true });
        using var scope = NewDisposeScope();   // the logits compared below
        PeftAdapter.Load(reference, adapterDir);
        var adapted = LoraInjector.LinearLayers(reference).Where(p => p.Value.lora_A is not null)
            .ToDictionary(p => p.Key + ".weight", p => p.Value, StringComparer.Ordinal);

        var prompts = options.ParityPrompts ?? DefaultPrompts(reference.Config.VocabSize);
        var expected = Logits(reference, prompts);
        string staging = $"{outDir}.merging-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(staging);
            var quantized = quantizeBase is null ? null : LoraInjector.LinearLayers(reference).Where(p => p.Key != "lm_head")
                .ToDictionary(p => p.Key + ".weight", p => p.Value, StringComparer.Ordinal);
            ScalarType storedType = WriteMergedWeights(baseDir, reference, adapted, quantized, staging, options.MaxShardBytes);
            ModelFolder.CopyAllButWeights(baseDir, staging);
            bool dequantized = reference.Config.Quantization is not null || quantizeBase is not null;
            if (reference.Config.Layout == CheckpointLayout.ChatGlm)
                WriteGlmConfig(baseDir, staging);
            else if (reference.Config.Quantization is not null)
                WriteDenseConfig(baseDir, staging);
            if (!AllFinite(expected))
            {
                throw new LoraParityException("parity gate: base + adapter gives NaN or infinite logits, so no merge can match it: the " +
                    $"adapter's weights are blown up (e.g. by too high a learning rate); nothing was written to {outDir}");
            }

            FoldAdapters(adapted.Values);
            double arithmetic = MaxDifference(expected, Logits(reference, prompts));
            if (!(arithmetic <= 1e-3))
                throw new LoraParityException($"parity gate: fp32 merged weights differ from base + adapter by up to {arithmetic:G4} logits (tolerance 0.001); nothing was written to {outDir}");

            using var written = ModelLoader.Load(staging, cpu32);
            double difference = MaxDifference(expected, Logits(written, prompts));
            double largest = expected.Max(MaxAbs);
            double tolerance = options.Tolerance ?? (storedType == ScalarType.Float32 ? 1e-3 : Math.Max(0.05, 0.01 * largest));
            if (!(difference <= tolerance))
            {
                // The fp32 merge passed: what is left is the stored dtype's rounding of W + ΔW (16 bits cannot hold the
                // smallest updates), which only the caller can decide to accept.
                string cause = storedType == ScalarType.Float32 ? "" : $"; the fp32 merge is within {arithmetic:G2}, so this is " +
                    $"{storedType} storage of W + ΔW losing part of the update (accept it with a larger tolerance)";
                throw new LoraParityException($"parity gate: merged logits differ from base + adapter by up to {difference:G4} " +
                    $"(tolerance {tolerance:G4}){cause}; nothing was written to {outDir}");
            }
            ModelFolder.Replace(outDir, staging);
            return new LoraMergeResult(outDir, [.. adapted.Keys.Select(k => k[..^".weight".Length]).Order(StringComparer.Ordinal)],
                difference, tolerance, arithmetic, dequantized);
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    // Returns the dtype the adapted weights are stored in. A remote-code ChatGLM base is written in Hugging Face's glm
    // layout. The linear weights of a base quantized for the merge (quantized) are written as the model holds them.
    private static ScalarType WriteMergedWeights(string baseDir, CausalLM model, Dictionary<string, LinearLayer> adapted,
        Dictionary<string, LinearLayer>? quantized, string staging, long maxShardBytes)
    {
        using var checkpoint = CheckpointReader.Open(baseDir);
        using var scope = NewDisposeScope();   // the views of the base weights and the merged copies, until written
        var tensors = new List<(string, Tensor)>();
        var storedType = ScalarType.Float32;
        bool chatGlm = model.Config.Layout == CheckpointLayout.ChatGlm;
        var names = chatGlm
            ? model.named_parameters().Select(p => p.name).Where(n => !n.Contains(".lora_", StringComparison.Ordinal))
            : checkpoint.Names.Where(n => !Bnb4BitTensors.IsAuxiliary(n));
        foreach (string name in names.Order(StringComparer.Ordinal))
        {
            var stored = chatGlm ? ReadChatGlm(checkpoint, name, model.Config) : ReadDense(checkpoint, name);
            if (adapted.TryGetValue(name, out var layer))
            {
                storedType = stored.dtype;
                using var merging = NewDisposeScope();   // the fp32 merge goes as soon as it is cast
                var merged = layer.MergedWeight();
                if (!merged.isfinite().all().item<bool>())
                    throw new LoraException($"{name}: the merged weight has NaN or infinite values; the adapter is broken");
                stored = merged.to(storedType).MoveToOuterDisposeScope();
            }
            else if (quantized is not null && quantized.TryGetValue(name, out var held))
            {
                stored = held.weight!.detach().to(stored.dtype);   // quantized and dequantized, as the adapter trained on it
            }
            tensors.Add((name, stored));
        }
        SafetensorsWriter.WriteCheckpoint(staging, tensors, maxShardBytes);
        return storedType;
    }

    // A tensor as stored, or a 4-bit weight dequantized to the dtype it was quantized from.
    private static Tensor ReadDense(CheckpointReader checkpoint, string name)
    {
        using var fourBit = Bnb4BitTensors.Read(checkpoint, name);
        return fourBit?.Dequantize() ?? checkpoint.Read(name);
    }

    // The merged model of a 4-bit base is dense: its config loses quantization_config.
    private static void WriteDenseConfig(string baseDir, string staging)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(baseDir, ModelConfig.FileName)))!.AsObject();
        config.Remove("quantization_config");
        File.WriteAllText(Path.Combine(staging, ModelConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    // A glm tensor of a remote-code ChatGLM checkpoint, bit for bit (q, k and v are views of query_key_value's rows).
    private static Tensor ReadChatGlm(CheckpointReader checkpoint, string name, ModelConfig config)
    {
        var (source, start, rows) = ChatGlmTensors.Locate(name, config) ?? throw new LoraException($"{name}: no counterpart in a ChatGLM checkpoint");
        var whole = checkpoint.Read(source);
        return rows < 0 ? whole : whole.narrow(0, start, rows);
    }

    // The merged model of a remote-code ChatGLM base is a Hugging Face glm model: its config says so.
    private static void WriteGlmConfig(string baseDir, string staging)
    {
        string path = Path.Combine(baseDir, ModelConfig.FileName);
        var glm = ChatGlmConfig.ToGlm(JsonNode.Parse(File.ReadAllText(path))!.AsObject(), path);
        File.WriteAllText(Path.Combine(staging, ModelConfig.FileName), glm.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    // Replaces each adapted layer's weight by its fp32 merge and switches its adapter off.
    private static void FoldAdapters(IEnumerable<LinearLayer> layers)
    {
        using var noGrad = no_grad();
        foreach (var layer in layers)
        {
            using var merged = layer.MergedWeight();
            layer.weight!.copy_(merged);   // dense: the merger loads a 4-bit base dequantized
            layer.LoraEnabled = false;
        }
    }

    // The logits of each prompt, owned by the caller's DisposeScope.
    private static List<Tensor> Logits(CausalLM model, IReadOnlyList<int[]> prompts)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = new List<Tensor>();
        foreach (int[] prompt in prompts)
        {
            var ids = tensor(prompt.Select(i => (long)i).ToArray(), [1, prompt.Length]);
            logits.Add(model.Forward(ids));
        }
        scope.MoveToOuter(logits);
        return logits;
    }

    private static bool AllFinite(List<Tensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            using var finite = tensor.isfinite();
            using var all = finite.all();
            if (!all.item<bool>())
                return false;
        }
        return true;
    }

    // NaN anywhere makes the result NaN (Math.Max propagates it), which fails every tolerance check.
    private static double MaxDifference(List<Tensor> expected, List<Tensor> actual)
    {
        using var scope = NewDisposeScope();
        double max = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            max = Math.Max(max, (actual[i] - expected[i]).abs().max().item<float>());
            actual[i].Dispose();
        }
        return max;
    }

    private static double MaxAbs(Tensor logits)
    {
        using var scope = NewDisposeScope();
        return logits.abs().max().item<float>();
    }

    private static List<int[]> DefaultPrompts(int vocabSize)
    {
        var random = new Random(20261128);
        return [.. Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 24).Select(_ => random.Next(vocabSize)).ToArray())];
    }
}
