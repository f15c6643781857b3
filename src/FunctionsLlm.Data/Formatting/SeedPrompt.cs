using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Formatting;

/// <summary>The original tutorial's prompt template, byte for byte; the answer is followed by the EOS token.</summary>
public static class SeedPrompt
{
    public static string Prompt(string instruction, string input) =>
        $"### 指令：\n{instruction}\n\n### 输入：\n{input}\n\n### 输出：\n";

    /// <summary>Renders a single-turn record; a system turn is dropped (the seed prompt has no place for it).</summary>
    public static TrainingText? Render(Conversation conversation, string eosToken, out string? problem)
    {
        problem = null;
        string instruction, input;
        if (conversation.Alpaca is { History.Count: 0 } alpaca)
        {
            (instruction, input) = (alpaca.Instruction, alpaca.Input);
        }
        else
        {
            var turns = conversation.Messages.Where(m => m.Role != ChatMessage.System).ToArray();
            if (turns.Length != 2)
            {
                problem = $"the seed template takes one question and one answer; this record has {turns.Length / 2} exchanges (use --template chat)";
                return null;
            }
            (instruction, input) = (turns[0].Content, "");
        }
        var prompt = Prompt(instruction, input);
        var text = prompt + conversation.Answer + eosToken;
        return new TrainingText(text, [new Range(prompt.Length, text.Length)], AddSpecialTokens: true);
    }
}
