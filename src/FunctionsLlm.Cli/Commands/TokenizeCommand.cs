using System.CommandLine;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm tokenize --model DIR --text TEXT</c> → the ids as a JSON array (special tokens in the text are recognised, nothing is added).</summary>
internal static class TokenizeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder with tokenizer.json or a tokenizer.model (SentencePiece or tiktoken), and tokenizer_config.json.", Required = true };
        var text = new Option<string>("--text") { Description = "The text to tokenize.", Required = true };
        var command = new Command("tokenize", "Print the token ids of a text as a JSON array.") { model, text };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var tokenizer = HfTokenizer.Load(parse.GetValue(model)!.FullName);
            output.WriteLine($"[{string.Join(',', tokenizer.Encode(parse.GetValue(text)!))}]");
            return FlmCli.Success;
        }));
        return command;
    }
}
