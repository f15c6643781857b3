using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>
/// Reads and writes adapters in PEFT's layout: adapter_config.json + adapter_model.safetensors with keys
/// <c>base_model.model.{module path}.lora_A.weight</c> (r, in) and <c>.lora_B.weight</c> (out, r).
/// </summary>
public static class PeftAdapter
{
    public const string WeightsFileName = "adapter_model.safetensors";
    private const string Prefix = "base_model.model.";

    public static string KeyOf(string modulePath, char factor) => $"{Prefix}{modulePath}.lora_{factor}.weight";

    /// <summary>Writes the model's adapters and <paramref name="config"/> (atomically, file by file).</summary>
    public static void Save(CausalLM model, LoraConfig config, string adapterDir)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        foreach (var (path, layer) in LoraInjector.LinearLayers(model).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (layer.lora_A is null || layer.lora_B is null)
                continue;
            tensors.Add((KeyOf(path, 'A'), layer.lora_A.weight.detach()));
            tensors.Add((KeyOf(path, 'B'), layer.lora_B.weight.detach()));
        }
        if (tensors.Count == 0)
            throw new LoraException("the model has no LoRA adapter to save");
        Directory.CreateDirectory(adapterDir);
        SafetensorsWriter.Write(Path.Combine(adapterDir, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        config.Save(adapterDir);
    }

    /// <summary>Attaches the adapter in <paramref name="adapterDir"/> to the model; returns its config.</summary>
    public static LoraConfig Load(CausalLM model, string adapterDir)
    {
        using var noGrad = no_grad();
        var config = Read(adapterDir, LoraInjector.LinearLayers(model), (_, layer, a, b, config) =>
        {
            layer.AttachLora(config.R, config.Scaling, config.LoraDropout);
            layer.lora_A!.weight.copy_(a);
            layer.lora_B!.weight.copy_(b);
        });
        foreach (var parameter in model.parameters())
            parameter.requires_grad = false;
        return config;
    }

    /// <summary>
    /// Checks the adapter in <paramref name="adapterDir"/> against <paramref name="layers"/> (every factor names a layer
    /// and has the shape r and the layer imply) before reading any weight, then hands each module's factors, as stored,
    /// to <paramref name="use"/> in module order; they are disposed when it returns. <paramref name="accept"/> sees the
    /// config after those checks and before any weight is read, and may refuse it by throwing.
    /// </summary>
    public static LoraConfig Read(string adapterDir, IReadOnlyDictionary<string, LinearLayer> layers, FactorHandler use,
        Action<LoraConfig>? accept = null)
    {
        var (config, file, modules) = Check(adapterDir, layers);
        using (file)
        {
            accept?.Invoke(config);
            foreach (var (module, a, b) in modules)
            {
                using var storedA = file.Read(a);
                using var storedB = file.Read(b);
                use(module, layers[module], storedA, storedB, config);
            }
        }
        return config;
    }

    /// <summary>Receives one module's factors A (r, in) and B (out, r).</summary>
    public delegate void FactorHandler(string module, LinearLayer layer, Tensor a, Tensor b, LoraConfig config);

    /// <summary>The adapter's config and rank after checking it against <paramref name="layers"/>, reading no weight.</summary>
    public static LoraConfig Inspect(string adapterDir, IReadOnlyDictionary<string, LinearLayer> layers)
    {
        var (config, file, _) = Check(adapterDir, layers);
        file.Dispose();
        return config;
    }

    private static (LoraConfig Config, SafetensorsFile File, List<(string Module, string A, string B)> Modules) Check(
        string adapterDir, IReadOnlyDictionary<string, LinearLayer> layers)
    {
        var config = LoraConfig.Load(adapterDir);
        string path = Path.Combine(adapterDir, WeightsFileName);
        if (!File.Exists(path))
        {
            string hint = File.Exists(Path.Combine(adapterDir, "adapter_model.bin")) ? " (adapter_model.bin is a pickle: save it with safe_serialization=True)" : "";
            throw new LoraException($"{path}: not found{hint}");
        }
        var file = SafetensorsFile.Open(path);
        try
        {
            var modules = new List<(string, string, string)>();
            foreach (var (module, (a, b)) in ReadFactors(file, path).OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                if (!layers.TryGetValue(module, out var layer))
                    throw new LoraException($"{path}: the adapter has weights for '{module}', which is not a linear layer of this model");
                if (a is null || b is null)
                    throw new LoraException($"{path}: '{module}' has lora_{(a is null ? 'A' : 'B')} missing");
                var infoA = file.Tensors[a];
                var infoB = file.Tensors[b];
                long[] expectedA = [config.R, layer.InFeatures], expectedB = [layer.OutFeatures, config.R];
                if (!infoA.Shape.SequenceEqual(expectedA) || !infoB.Shape.SequenceEqual(expectedB))
                {
                    throw new LoraException($"{path}: '{module}' has A [{string.Join(", ", infoA.Shape)}] and B [{string.Join(", ", infoB.Shape)}]; " +
                        $"r = {config.R} and the layer imply A [{string.Join(", ", expectedA)}] and B [{string.Join(", ", expectedB)}]");
                }
                modules.Add((module, a, b));
            }
            return (config, file, modules);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // module path → (key of A, key of B); accepts PEFT's in-memory ".default" adapter name too.
    private static Dictionary<string, (string? A, string? B)> ReadFactors(SafetensorsFile file, string path)
    {
        var factors = new Dictionary<string, (string? A, string? B)>(StringComparer.Ordinal);
        foreach (string key in file.Tensors.Keys)
        {
            string name = key.Replace(".default.weight", ".weight", StringComparison.Ordinal);
            bool isA = name.EndsWith(".lora_A.weight", StringComparison.Ordinal);
            bool isB = name.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || !(isA || isB))
            {
                throw new LoraException($"{path}: tensor '{key}' is not a LoRA factor in PEFT layout " +
                    "(base_model.model.<module>.lora_A.weight / .lora_B.weight); embeddings, DoRA magnitudes and saved modules are not supported");
            }
            string module = name[Prefix.Length..^".lora_A.weight".Length];
            factors.TryGetValue(module, out var pair);
            factors[module] = isA ? (key, pair.B) : (pair.A, key);
        }
        if (factors.Count == 0)
            throw new LoraException($"{path}: the file holds no tensors");
        return factors;
    }
}
