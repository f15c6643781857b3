using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Serving.Engine;

/// <summary>A model folder loaded once for serving: weights, tokenizer and chat template, under the name clients use.</summary>
public sealed class ServedModel : IDisposable
{
    private ServedModel(string name, string directory, CausalLM model, HfTokenizer tokenizer)
    {
        Name = name;
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
    }

    /// <summary>The id clients pass as <c>model</c> and see in <c>GET /v1/models</c>.</summary>
    public string Name { get; }

    public string Directory { get; }

    public CausalLM Model { get; }

    public HfTokenizer Tokenizer { get; }

    public DateTimeOffset LoadedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// Sampling for fields a request leaves out: the model's generation_config.json (<c>do_sample: false</c> is greedy),
    /// else OpenAI's defaults (temperature 1, top-p 1).
    /// </summary>
    public SamplingOptions DefaultSampling
    {
        get
        {
            var config = Model.GenerationConfig;
            return new SamplingOptions
            {
                Temperature = config.DoSample == false ? 0 : config.Temperature ?? 1.0,
                TopP = config.TopP ?? 1.0,
                TopK = config.TopK ?? 0,
                RepetitionPenalty = config.RepetitionPenalty ?? 1.0,
            };
        }
    }

    /// <summary>
    /// Loads a Hugging Face model folder; <paramref name="name"/> defaults to the folder's name. A served model only
    /// infers, so its fp32 CPU weights are packed for the CPU kernels where the CPU has them (<see cref="ModelLoadOptions.PackedWeights"/>).
    /// </summary>
    public static ServedModel Load(string directory, string? name = null, ModelLoadOptions? options = null)
    {
        var tokenizer = HfTokenizer.Load(directory);
        var model = ModelLoader.Load(directory, (options ?? new ModelLoadOptions()) with { PackedWeights = true });
        return new ServedModel(name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))), directory, model, tokenizer);
    }

    /// <summary>Renders messages (role, content) with the model's chat template plus the assistant prefix, and tokenizes them.</summary>
    /// <exception cref="EngineRejectedException">The model has no chat template.</exception>
    /// <exception cref="TemplateException">The template fails on these messages (e.g. roles it does not allow).</exception>
    public IReadOnlyList<int> ChatPromptIds(IEnumerable<(string Role, string Content)> messages)
    {
        string template = Tokenizer.ChatTemplate
            ?? throw new EngineRejectedException(EngineRejection.InvalidRequest,
                $"the model '{Name}' has no chat_template in tokenizer_config.json; use /v1/completions", "messages");
        var rendered = ChatTemplateRenderer.Render(template,
            [.. messages.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content })],
            addGenerationPrompt: true, bosToken: Tokenizer.BosToken, eosToken: Tokenizer.EosToken);
        return Tokenizer.Encode(rendered);
    }

    public void Dispose() => Model.Dispose();
}
