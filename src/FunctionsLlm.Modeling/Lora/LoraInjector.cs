using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>Adds LoRA factors to a model's target linear layers with PEFT's initialisation and freezes the rest.</summary>
public static class LoraInjector
{
    /// <summary>The linear layers of the model by module path (model.layers.0.self_attn.q_proj, lm_head).</summary>
    public static IReadOnlyDictionary<string, LinearLayer> LinearLayers(nn.Module model) =>
        model.named_modules().Where(m => m.module is LinearLayer).ToDictionary(m => m.name, m => (LinearLayer)m.module, StringComparer.Ordinal);

    /// <summary>
    /// A ~ kaiming-uniform(a=√5) = U(−1/√in, 1/√in), B = 0 (so the model's output is unchanged until trained),
    /// both fp32. Returns the adapted module paths; throws when the targets match nothing, as PEFT does.
    /// </summary>
    public static IReadOnlyList<string> Inject(CausalLM model, LoraConfig config, Generator? generator = null)
    {
        config.Validate();
        var targets = LinearLayers(model).Where(p => config.Targets(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        if (targets.Count == 0)
        {
            throw new LoraException($"target modules [{string.Join(", ", config.TargetModules)}] match no linear layer of the model; " +
                $"its linear layers end in: {string.Join(", ", LinearLayers(model).Keys.Select(k => k.Split('.')[^1]).Distinct().Order(StringComparer.Ordinal))}");
        }
        foreach (var parameter in model.parameters())
            parameter.requires_grad = false;
        using var noGrad = no_grad();
        foreach (var (_, layer) in targets)
        {
            double bound = 1.0 / Math.Sqrt(layer.InFeatures);
            layer.AttachLora(config.R, config.Scaling, config.LoraDropout);
            layer.lora_A!.weight.uniform_(-bound, bound, generator);
        }
        return [.. targets.Select(t => t.Key)];
    }

    /// <summary>PEFT's print_trainable_parameters line.</summary>
    public static string TrainableSummary(nn.Module model)
    {
        long trainable = 0, all = 0;
        foreach (var parameter in model.parameters())
        {
            all += parameter.numel();
            if (parameter.requires_grad)
                trainable += parameter.numel();
        }
        foreach (var (_, module) in model.named_modules())
        {
            if (module is LinearLayer { Quantized: { } fourBit })
                all += fourBit.Shape[0] * fourBit.Shape[1];   // 4-bit weights count as the weights they stand for
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"trainable params: {trainable:N0} || all params: {all:N0} || trainable%: {100.0 * trainable / all:F4}");
    }
}
