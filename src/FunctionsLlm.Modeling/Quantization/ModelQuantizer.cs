using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <param name="QuantizedWeights">Names of the weights now held in 4 bits.</param>
/// <param name="SourceBytes">Bytes of all tensors before.</param>
/// <param name="WrittenBytes">Bytes of all tensors written (packed codes, absmax, maps and metadata included).</param>
public sealed record ModelQuantizeResult(string OutputDir, IReadOnlyList<string> QuantizedWeights, long SourceBytes, long WrittenBytes);

/// <summary>
/// Writes a model folder as transformers saves a model loaded with <c>BitsAndBytesConfig(load_in_4bit=True, …)</c>:
/// every linear weight of the decoder layers in bitsandbytes' 4-bit form (<see cref="Bnb4BitTensors"/>), embeddings,
/// norms, biases and lm_head as they were, and <c>quantization_config</c> in config.json. The rest of the folder
/// (tokenizer, generation config, chat template) is copied; the output appears only when complete.
/// </summary>
public static class ModelQuantizer
{
    public static ModelQuantizeResult Quantize(string modelDir, string outDir, FourBitOptions options, long maxShardBytes = 5L << 30)
    {
        outDir = Path.GetFullPath(outDir);
        var config = ModelConfig.Load(modelDir);
        if (config.Quantization is not null)
            throw new CheckpointException(modelDir, "the model is quantized already (config.json has quantization_config)");
        if (config.Layout == CheckpointLayout.ChatGlm)
            throw new CheckpointException(modelDir, "a checkpoint in ChatGLM's remote-code layout cannot be quantized; quantize its Hugging Face glm form");
        if (Path.GetFullPath(modelDir).TrimEnd('/') == outDir.TrimEnd('/'))
            throw new CheckpointException(outDir, "the quantized model cannot overwrite its source");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !File.Exists(Path.Combine(outDir, ModelConfig.FileName)))
            throw new CheckpointException(outDir, "exists and is not a model directory; refusing to replace it");

        string staging = $"{outDir}.quantizing-{Guid.NewGuid():N}";
        var owned = new List<IDisposable>();
        try
        {
            using var checkpoint = CheckpointReader.Open(modelDir);
            using var scope = NewDisposeScope();   // the source views and metadata tensors, until written
            var tensors = new List<(string Name, Tensor Tensor)>();
            var quantized = new List<string>();
            long sourceBytes = 0;
            foreach (string name in checkpoint.Names.Order(StringComparer.Ordinal))
            {
                var stored = checkpoint.Read(name);
                sourceBytes += stored.numel() * stored.element_size();
                if (!IsDecoderLinearWeight(name, stored))
                {
                    tensors.Add((name, stored));
                    continue;
                }
                var fourBit = Bnb4BitTensors.Quantize(stored, options);
                owned.Add(fourBit);
                tensors.AddRange(fourBit.Entries(name, fourBit.Metadata()));
                quantized.Add(name);
            }
            SafetensorsWriter.WriteCheckpoint(staging, tensors, maxShardBytes);
            long writtenBytes = tensors.Sum(t => t.Tensor.numel() * t.Tensor.element_size());
            ModelFolder.CopyAllButWeights(modelDir, staging);
            WriteConfig(modelDir, staging, options, config.TorchDtype ?? "float32");
            ModelFolder.Replace(outDir, staging);
            return new ModelQuantizeResult(outDir, quantized, sourceBytes, writtenBytes);
        }
        finally
        {
            owned.ForEach(o => o.Dispose());
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    // transformers replaces every nn.Linear but lm_head; in these decoders those are the layers' *_proj weights.
    private static bool IsDecoderLinearWeight(string name, Tensor tensor) =>
        tensor.ndim == 2 && name.StartsWith("model.layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal);

    private static void WriteConfig(string modelDir, string staging, FourBitOptions options, string computeDType)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDir, ModelConfig.FileName)))!.AsObject();
        config["quantization_config"] = QuantizationConfig.FourBit(options.Type.Name, options.DoubleQuant, computeDType);
        File.WriteAllText(Path.Combine(staging, ModelConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
