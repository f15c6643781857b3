using System.Globalization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>What an export wrote.</summary>
public sealed record GgufExportResult(string Path, string Architecture, GgmlType Type, int Tensors, long Bytes, IReadOnlyList<string> Warnings);

/// <summary>
/// Writes a Hugging Face model folder (config.json, safetensors, tokenizer.json) as one GGUF v3 file that llama.cpp and
/// Ollama run, laid out as llama.cpp's own Hugging Face converter lays it out: its architecture names, hyperparameter
/// keys and tensor names, q/k rows permuted where its rotary layout differs, 1-D tensors (norms, biases) in F32 and
/// every weight matrix in the chosen type (Q8_0 as llama.cpp's quantizer rounds it; F16 where a row is not whole blocks
/// of 32, as the converter falls back).
/// </summary>
public static class GgufExporter
{
    /// <summary>The types <c>--type</c> accepts, by name.</summary>
    public static readonly IReadOnlyDictionary<string, GgmlType> Types = new Dictionary<string, GgmlType>(StringComparer.Ordinal)
    {
        ["f32"] = GgmlType.F32,
        ["f16"] = GgmlType.F16,
        ["bf16"] = GgmlType.BF16,
        ["q8_0"] = GgmlType.Q8_0,
    };

    /// <param name="name">general.name, the name runtimes show (default: the folder's name).</param>
    public static GgufExportResult Export(string modelDir, string outputPath, GgmlType type, string? name = null)
    {
        var config = ModelConfig.Load(modelDir);
        if (config.Layout != CheckpointLayout.HuggingFace)
            throw new GgufExportException($"{modelDir}: only Hugging Face checkpoint layouts are exported (this one is {config.Layout})");
        if (config.Quantization is not null)
            throw new GgufExportException($"{modelDir}: the checkpoint is quantized ({config.Quantization.QuantMethod}); export the full-precision model");
        if (config.HiddenAct != "silu")
            throw new GgufExportException($"{modelDir}: hidden_act '{config.HiddenAct}'; llama.cpp's graphs for these architectures use SiLU");

        string architecture = GgufTensorPlan.Architecture(config);
        var warnings = new List<string>();
        var gguf = new GgufWriter();
        using var checkpoint = CheckpointReader.Open(modelDir);
        var plan = GgufTensorPlan.For(config, checkpoint.Names);
        int embeddingRows = (int)checkpoint.Info("model.embed_tokens.weight").Shape[0];

        gguf.Add("general.architecture", architecture);
        gguf.Add("general.name", name ?? Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar)));
        gguf.Add("general.file_type", FileType(type));
        gguf.Add("general.quantization_version", 2u);
        AddHyperparameters(gguf, architecture, config, embeddingRows, warnings);
        warnings.AddRange(GgufVocabulary.Add(gguf, modelDir, config, embeddingRows));

        foreach (var tensor in plan)
        {
            var info = checkpoint.Info(tensor.HfName);
            var tensorType = TensorType(tensor.GgufName, info.Shape, type);
            gguf.AddTensor(tensor.GgufName, [.. info.Shape.Reverse()], tensorType, stream => WriteTensor(checkpoint, tensor, tensorType, stream));
        }
        if (config.RopeScaling?.Type == "llama3")
        {
            var factors = Llama3RopeFactors(config);
            gguf.AddTensor("rope_freqs.weight", [factors.Length], GgmlType.F32, stream =>
            {
                using var values = tensor(factors);
                GgufTensorEncoder.Write(values, GgmlType.F32, stream);
            });
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
        Directory.CreateDirectory(directory);
        gguf.Write(outputPath);
        return new GgufExportResult(outputPath, architecture, type, gguf.TensorCount, new FileInfo(outputPath).Length, warnings);
    }

    /// <summary>
    /// A GGUF holding only a tokenizer (as llama.cpp's own ggml-vocab-*.gguf files): llama.cpp loads it with vocab_only
    /// and tokenizes as the folder's tokenizer.json does. The hyperparameters are placeholders llama.cpp reads but does
    /// not use in that mode. Returns the tokenizer's warnings.
    /// </summary>
    public static IReadOnlyList<string> ExportVocabulary(string tokenizerDir, string outputPath)
    {
        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "llama");
        gguf.Add("general.name", Path.GetFileName(Path.GetFullPath(tokenizerDir).TrimEnd(Path.DirectorySeparatorChar)));
        gguf.Add("llama.context_length", 4096u);
        gguf.Add("llama.embedding_length", 64u);
        gguf.Add("llama.block_count", 1u);
        gguf.Add("llama.feed_forward_length", 64u);
        gguf.Add("llama.attention.head_count", 1u);
        gguf.Add("llama.attention.layer_norm_rms_epsilon", 1e-6f);
        var warnings = GgufVocabulary.Add(gguf, tokenizerDir, config: null, embeddingRows: null);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        gguf.Write(outputPath);
        return warnings;
    }

    /// <summary>1-D tensors and norms stay F32, as llama.cpp's kernels expect; a matrix whose rows are not whole Q8_0 blocks is F16.</summary>
    private static GgmlType TensorType(string ggufName, long[] shape, GgmlType requested)
    {
        if (shape.Length < 2 || ggufName.EndsWith("_norm.weight", StringComparison.Ordinal) || !ggufName.EndsWith(".weight", StringComparison.Ordinal))
            return GgmlType.F32;
        return requested == GgmlType.Q8_0 && shape[^1] % 32 != 0 ? GgmlType.F16 : requested;
    }

    /// <summary>llama_ftype: what the file "mostly" is.</summary>
    private static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q8_0 => 7,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static void AddHyperparameters(GgufWriter gguf, string arch, ModelConfig c, int embeddingRows, List<string> warnings)
    {
        gguf.Add($"{arch}.vocab_size", (uint)embeddingRows);
        gguf.Add($"{arch}.context_length", (uint)c.MaxPositionEmbeddings);
        gguf.Add($"{arch}.embedding_length", (uint)c.HiddenSize);
        gguf.Add($"{arch}.block_count", (uint)c.NumHiddenLayers);
        gguf.Add($"{arch}.feed_forward_length", (uint)c.IntermediateSize);
        gguf.Add($"{arch}.attention.head_count", (uint)c.NumAttentionHeads);
        gguf.Add($"{arch}.attention.head_count_kv", (uint)c.NumKeyValueHeads);
        gguf.Add($"{arch}.attention.key_length", (uint)c.HeadDim);
        gguf.Add($"{arch}.attention.value_length", (uint)c.HeadDim);
        gguf.Add($"{arch}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        gguf.Add($"{arch}.rope.freq_base", (float)c.RopeTheta);
        gguf.Add($"{arch}.rope.dimension_count", (uint)c.RotaryDim);
        switch (c.RopeScaling?.Type)
        {
            case null or "default":
                break;
            case "linear":
                gguf.Add($"{arch}.rope.scaling.type", "linear");
                gguf.Add($"{arch}.rope.scaling.factor", (float)c.RopeScaling.Factor);
                break;
            case "llama3":
                break; // the rope_freqs tensor carries it
            default:
                throw new GgufExportException($"rope_scaling type '{c.RopeScaling.Type}' is not exported");
        }
        if (c.AttentionWindow is { } window && window < c.MaxPositionEmbeddings)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"sliding_window {window}: llama.cpp's llama graph attends to the whole context, so outputs differ beyond {window} tokens"));
    }

    private static void WriteTensor(CheckpointReader checkpoint, GgufTensor tensor, GgmlType type, Stream stream)
    {
        using var scope = NewDisposeScope();
        var values = checkpoint.Read(tensor.HfName);
        if (tensor.PermuteHeads > 0)
            values = GgufTensorPlan.PermuteForInterleavedRope(values, tensor.PermuteHeads);
        GgufTensorEncoder.Write(values, type, stream);
        checkpoint.Release(tensor.HfName);
    }

    /// <summary>
    /// Llama 3.1's rope scaling as llama.cpp takes it: a divisor per rotary frequency (1 for short wavelengths, the factor
    /// for long ones, a smooth blend between), in the tensor rope_freqs.weight.
    /// </summary>
    private static float[] Llama3RopeFactors(ModelConfig c)
    {
        var s = c.RopeScaling!;
        double oldContext = s.OriginalMaxPositionEmbeddings ?? 8192;
        double lowWavelength = oldContext / s.LowFreqFactor, highWavelength = oldContext / s.HighFreqFactor;
        var factors = new float[c.RotaryDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            float frequency = 1f / MathF.Pow((float)c.RopeTheta, 2f * i / c.RotaryDim);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength)
                factors[i] = 1f;
            else if (wavelength > lowWavelength)
                factors[i] = (float)s.Factor;
            else
            {
                double smooth = ((oldContext / wavelength) - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1 / (((1 - smooth) / s.Factor) + smooth));
            }
        }
        return factors;
    }
}
