using System.CommandLine;
using System.Text.Json;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm chat-template --model DIR --messages FILE.json [--add-generation-prompt] [--var name=value ...]</c> prints the
/// model's chat template rendered for the messages, exactly (no newline added). A value is read as JSON when it is
/// JSON (<c>enable_thinking=false</c>, <c>tools=[...]</c>), otherwise as a string.
/// </summary>
internal static class ChatTemplateCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder whose tokenizer_config.json has the chat_template.", Required = true };
        var messages = new Option<FileInfo>("--messages") { Description = "JSON file: a list of {role, content} messages, or an object with a \"messages\" list.", Required = true };
        var addGenerationPrompt = new Option<bool>("--add-generation-prompt") { Description = "End with the assistant header so the model answers next." };
        var variables = new Option<string[]>("--var") { Description = "Extra template variable name=value (repeatable).", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("chat-template", "Render the model's chat template for a conversation.") { model, messages, addGenerationPrompt, variables };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var tokenizer = HfTokenizer.Load(parse.GetValue(model)!.FullName);
            var template = tokenizer.ChatTemplate
                ?? throw new InvalidDataException($"{parse.GetValue(model)!.FullName} has no chat_template in tokenizer_config.json.");
            var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var assignment in parse.GetValue(variables) ?? [])
            {
                var split = assignment.IndexOf('=', StringComparison.Ordinal);
                if (split <= 0)
                    throw new UsageException($"--var takes name=value, got '{assignment}'.");
                extra[assignment[..split]] = ParseValue(assignment[(split + 1)..]);
            }
            var rendered = ChatTemplateRenderer.Render(template, ReadMessages(parse.GetValue(messages)!.FullName),
                parse.GetValue(addGenerationPrompt), extra, tokenizer.BosToken, tokenizer.EosToken);
            output.Write(rendered);
            output.Flush();
            return FlmCli.Success;
        }));
        return command;
    }

    private static List<IReadOnlyDictionary<string, object?>> ReadMessages(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var list = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("messages", out var inner) ? inner : root;
        if (list.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: expected a list of messages or an object with a \"messages\" list.");
        return list.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.Object
                ? (IReadOnlyDictionary<string, object?>)m.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone(), StringComparer.Ordinal)
                : throw new InvalidDataException($"{path}: every message must be an object."))
            .ToList();
    }

    private static object? ParseValue(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return text;
        }
    }
}
