using System.Text;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>
/// A chat prompt format Ollama can be given as a Go template, with the same format written in C#: the C# side is what
/// a model's Jinja chat template is compared against, and the Go template is written to the Modelfile when they agree.
/// Each template renders every message and, when the last one is not the assistant's, the assistant's header, as
/// Hugging Face templates do with add_generation_prompt. BOS is not in them: llama.cpp adds it when the file says so.
/// </summary>
public sealed record OllamaChatFormat(string Name, string GoTemplate, Func<IReadOnlyList<(string Role, string Content)>, string> Render)
{
    public static readonly IReadOnlyList<OllamaChatFormat> Known =
    [
        new("chatml",
            """
            {{- range $i, $_ := .Messages }}
            {{- $last := eq (len (slice $.Messages $i)) 1 -}}
            <|im_start|>{{ .Role }}
            {{ .Content }}<|im_end|>
            {{ if and $last (ne .Role "assistant") }}<|im_start|>assistant
            {{ end }}
            {{- end }}
            """,
            messages => Each(messages, m => $"<|im_start|>{m.Role}\n{m.Content}<|im_end|>\n", "<|im_start|>assistant\n")),
        new("llama3",
            """
            {{- range $i, $_ := .Messages }}
            {{- $last := eq (len (slice $.Messages $i)) 1 -}}
            <|start_header_id|>{{ .Role }}<|end_header_id|>

            {{ .Content }}<|eot_id|>
            {{- if and $last (ne .Role "assistant") }}<|start_header_id|>assistant<|end_header_id|>

            {{ end }}
            {{- end }}
            """,
            messages => Each(messages, m => $"<|start_header_id|>{m.Role}<|end_header_id|>\n\n{m.Content}<|eot_id|>",
                "<|start_header_id|>assistant<|end_header_id|>\n\n")),
        new("glm4",
            """
            [gMASK]<sop>
            {{- range $i, $_ := .Messages }}
            {{- $last := eq (len (slice $.Messages $i)) 1 -}}
            <|{{ .Role }}|>
            {{ .Content }}
            {{- if and $last (ne .Role "assistant") }}<|assistant|>
            {{ end }}
            {{- end }}
            """,
            messages => "[gMASK]<sop>" + Each(messages, m => $"<|{m.Role}|>\n{m.Content}", "<|assistant|>\n")),
    ];

    private static string Each(IReadOnlyList<(string Role, string Content)> messages, Func<(string Role, string Content), string> message, string assistantHeader)
    {
        var text = new StringBuilder();
        foreach (var m in messages)
            text.Append(message(m));
        if (messages.Count > 0 && messages[^1].Role != "assistant")
            text.Append(assistantHeader);
        return text.ToString();
    }
}
