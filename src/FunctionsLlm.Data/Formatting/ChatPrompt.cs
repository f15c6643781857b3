using FunctionsLlm.Data.Records;
using FunctionsLlm.Data.Templating;

namespace FunctionsLlm.Data.Formatting;

/// <summary>
/// Renders a conversation with the model's chat template and finds each assistant answer in the result. An answer's
/// span runs to the end of the special token that closes it (e.g. &lt;|im_end|&gt;, or Llama 2's " &lt;/s&gt;" after
/// whitespace); a final answer the template leaves open gets the EOS token, so the model learns to stop.
/// </summary>
public sealed class ChatPrompt
{
    private readonly JinjaTemplate _template;
    private readonly string? _bosToken;
    private readonly string _eosToken;
    private readonly string[] _specialTokens;

    public ChatPrompt(string chatTemplate, string? bosToken, string eosToken, IEnumerable<string> specialTokens)
    {
        _template = JinjaTemplate.Parse(chatTemplate);
        _bosToken = bosToken;
        _eosToken = eosToken;
        _specialTokens = specialTokens.OrderByDescending(t => t.Length).ToArray();
    }

    public TrainingText? Render(Conversation conversation, out FormatRejectReason? reason, out string? problem)
    {
        reason = null;
        problem = null;
        string text;
        try
        {
            var messages = conversation.Messages
                .Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content })
                .ToList();
            text = _template.Render(ChatTemplateRenderer.Variables(messages, addGenerationPrompt: false, bosToken: _bosToken, eosToken: _eosToken));
        }
        catch (TemplateException e)
        {
            (reason, problem) = (FormatRejectReason.TemplateError, $"chat template: {e.Message}");
            return null;
        }

        var spans = new List<Range>();
        var cursor = 0;
        foreach (var answer in conversation.Messages.Where(m => m.Role == ChatMessage.Assistant))
        {
            var start = text.IndexOf(answer.Content, cursor, StringComparison.Ordinal);
            if (start < 0)
            {
                (reason, problem) = (FormatRejectReason.AnswerNotRendered,
                    "the chat template does not render this assistant answer verbatim, so its tokens cannot be labelled");
                return null;
            }
            var end = start + answer.Content.Length;
            // Llama 2's template puts a space between the answer and </s>: the closing token may follow whitespace.
            var gap = text.AsSpan(end).Length - text.AsSpan(end).TrimStart().Length;
            var closing = _specialTokens.FirstOrDefault(t => text.AsSpan(end + gap).StartsWith(t, StringComparison.Ordinal));
            if (closing is not null)
                end += gap + closing.Length;
            else if (end == text.Length)
            {
                text += _eosToken;
                end = text.Length;
            }
            spans.Add(new Range(start, end));
            cursor = end;
        }
        return new TrainingText(text, spans, AddSpecialTokens: false);
    }
}
