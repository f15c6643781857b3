using System.Globalization;
using System.Text;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Config;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>What <see cref="OllamaModelfile.Create"/> wrote: the Modelfile's text, the chat format it recognised (null: none), and why not.</summary>
public sealed record OllamaModelfileResult(string Text, string? Format, IReadOnlyList<string> Warnings);

/// <summary>
/// An Ollama Modelfile for an exported GGUF: FROM the file; TEMPLATE (Go syntax) and SYSTEM (the template's default
/// system prompt) when the model's Jinja chat template renders exactly as one of the <see cref="OllamaChatFormat.Known"/>
/// formats on probe conversations; a stop for each end-of-generation token; and the sampling defaults of
/// generation_config.json.
/// </summary>
public static class OllamaModelfile
{
    private const string Marker = "\u0001system\u0001";

    private static readonly IReadOnlyList<IReadOnlyList<(string Role, string Content)>> Probes =
    [
        [("user", "Where is my order?")],
        [("system", "You answer for a shop."), ("user", "Where is my order?")],
        [("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Where is my order?")],
        [("system", "You answer for a shop."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Where is my order?")],
    ];

    public static OllamaModelfileResult Create(string modelDir, string ggufFileName)
    {
        var tokenizer = HfTokenizer.Load(modelDir);
        var config = ModelConfig.Load(modelDir);
        var generation = GenerationConfig.Load(modelDir);
        var warnings = new List<string>();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"FROM ./{ggufFileName}\n");

        string? formatName = null;
        if (tokenizer.ChatTemplate is not { } template)
            warnings.Add("tokenizer_config.json has no chat_template: the Modelfile has no TEMPLATE");
        else if (Recognise(template, tokenizer) is ({ } format, var defaultSystem))
        {
            formatName = format.Name;
            text.Append(CultureInfo.InvariantCulture, $"TEMPLATE \"\"\"{format.GoTemplate}\"\"\"\n");
            if (defaultSystem is not null)
                text.Append(CultureInfo.InvariantCulture, $"SYSTEM \"\"\"{defaultSystem}\"\"\"\n");
        }
        else
        {
            warnings.Add($"the chat template renders as none of the formats translated to Ollama's ({string.Join(", ", OllamaChatFormat.Known.Select(f => f.Name))}): " +
                         "the Modelfile has no TEMPLATE, so Ollama falls back on its own reading of the GGUF's tokenizer.chat_template");
        }

        foreach (string stop in StopTokens(tokenizer, config, generation))
            text.Append(CultureInfo.InvariantCulture, $"PARAMETER stop \"{stop}\"\n");
        foreach (var (name, value) in Parameters(generation))
            text.Append(CultureInfo.InvariantCulture, $"PARAMETER {name} {value}\n");
        return new OllamaModelfileResult(text.ToString(), formatName, warnings);
    }

    /// <summary>
    /// The known format the template renders as on every probe, with the system prompt the template puts in when a
    /// conversation has none (found between the format's own system prefix and suffix).
    /// </summary>
    private static (OllamaChatFormat? Format, string? DefaultSystem) Recognise(string template, HfTokenizer tokenizer)
    {
        List<string> rendered;
        try
        {
            rendered = [.. Probes.Select(probe => RenderJinja(template, probe, tokenizer))];
        }
        catch (TemplateException)
        {
            return (null, null);
        }

        foreach (var format in OllamaChatFormat.Known)
        {
            string? defaultSystem = DefaultSystem(format, rendered[0], Probes[0]);
            bool all = Probes.Select((probe, i) => (probe, i)).All(p =>
                rendered[p.i] == format.Render(defaultSystem is not null && p.probe[0].Role != "system" ? [("system", defaultSystem), .. p.probe] : p.probe));
            if (all && (defaultSystem is null || !defaultSystem.Contains("\"\"\"", StringComparison.Ordinal)))
                return (format, defaultSystem);
        }
        return (null, null);
    }

    private static string? DefaultSystem(OllamaChatFormat format, string rendered, IReadOnlyList<(string Role, string Content)> probe)
    {
        string withMarker = format.Render([("system", Marker), .. probe]);
        int at = withMarker.IndexOf(Marker, StringComparison.Ordinal);
        string prefix = withMarker[..at], suffix = withMarker[(at + Marker.Length)..];
        return rendered.Length > prefix.Length + suffix.Length && rendered.StartsWith(prefix, StringComparison.Ordinal) && rendered.EndsWith(suffix, StringComparison.Ordinal)
            ? rendered[prefix.Length..^suffix.Length]
            : null;
    }

    /// <summary>The template as transformers renders it; a leading BOS is dropped, as llama.cpp adds it from the file's add_bos_token.</summary>
    private static string RenderJinja(string template, IReadOnlyList<(string Role, string Content)> messages, HfTokenizer tokenizer)
    {
        string rendered = ChatTemplateRenderer.Render(template,
            [.. messages.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content })],
            addGenerationPrompt: true, bosToken: tokenizer.BosToken, eosToken: tokenizer.EosToken);
        bool addsBos = tokenizer.BosTokenId is { } bos && tokenizer.SpecialPrefixIds is [var first, ..] && first == bos;
        return addsBos && tokenizer.BosToken is { } bosText && rendered.StartsWith(bosText, StringComparison.Ordinal) ? rendered[bosText.Length..] : rendered;
    }

    private static IEnumerable<string> StopTokens(HfTokenizer tokenizer, ModelConfig config, GenerationConfig generation) =>
        new[] { tokenizer.EosTokenId }.OfType<int>()
            .Concat(config.EosTokenId ?? []).Concat(generation.EosTokenId ?? [])
            .Distinct()
            .Select(tokenizer.IdToToken)
            .OfType<string>();

    /// <summary>generation_config.json's sampling settings under Ollama's names; greedy decoding (do_sample false) is temperature 0.</summary>
    private static IEnumerable<(string Name, string Value)> Parameters(GenerationConfig g)
    {
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        if (g.DoSample == false)
            yield return ("temperature", "0");
        else if (g.Temperature is { } temperature)
            yield return ("temperature", Number(temperature));
        if (g.TopP is { } topP)
            yield return ("top_p", Number(topP));
        if (g.TopK is { } topK)
            yield return ("top_k", topK.ToString(CultureInfo.InvariantCulture));
        if (g.RepetitionPenalty is { } penalty)
            yield return ("repeat_penalty", Number(penalty));
    }
}
