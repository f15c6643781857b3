namespace FunctionsLlm.Data.Templating;

/// <summary>Renders a Hugging Face chat template with the variables transformers passes to it.</summary>
public static class ChatTemplateRenderer
{
    /// <param name="extra">More variables, e.g. <c>enable_thinking</c>, <c>tools</c>, <c>date_string</c>.</param>
    /// <param name="bosToken">Sets <c>bos_token</c> when given (otherwise it stays undefined).</param>
    /// <param name="eosToken">Sets <c>eos_token</c> when given (otherwise it stays undefined).</param>
    public static string Render(string template, IReadOnlyList<IReadOnlyDictionary<string, object?>> messages,
        bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extra = null, string? bosToken = null,
        string? eosToken = null) =>
        JinjaTemplate.Parse(template).Render(Variables(messages, addGenerationPrompt, extra, bosToken, eosToken));

    /// <summary>The variables transformers passes to a chat template, for rendering an already parsed template many times.</summary>
    public static IReadOnlyDictionary<string, object?> Variables(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages,
        bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extra = null, string? bosToken = null,
        string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
                variables[name] = value;
        }

        variables["messages"] = messages;
        variables["add_generation_prompt"] = addGenerationPrompt;
        if (bosToken is not null)
            variables["bos_token"] = bosToken;
        if (eosToken is not null)
            variables["eos_token"] = eosToken;
        return variables;
    }
}
