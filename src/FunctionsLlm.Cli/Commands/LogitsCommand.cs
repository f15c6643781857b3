using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm logits --model DIR --ids 1,2,3 --out FILE.safetensors</c>: full-forward logits of every position.</summary>
internal static class LogitsCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder (config.json, *.safetensors).", Required = true };
        var ids = new Option<string>("--ids") { Description = "Comma-separated input token ids, e.g. 1,2,3.", Required = true };
        var outFile = new Option<FileInfo>("--out") { Description = "Safetensors file to write: one F32 tensor 'logits' of shape [tokens, vocab].", Required = true };
        var command = new Command("logits", "Write the logits of every position of a token sequence (one forward pass, no cache).") { model, ids, outFile };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            long[] tokens = ParseIds(parse.GetValue(ids)!);
            using var lm = ModelLoader.Load(parse.GetValue(model)!.FullName);
            long vocab = lm.Config.VocabSize;
            if (tokens.FirstOrDefault(t => t < 0 || t >= vocab, -1) is var bad and >= 0)
                throw new UsageException($"--ids: token id {bad} is outside the vocabulary (0..{vocab - 1})");
            if (tokens.Length > lm.Config.MaxPositionEmbeddings)
                throw new UsageException($"--ids: {tokens.Length} tokens exceed the model's context of {lm.Config.MaxPositionEmbeddings}");

            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var input = tensor(tokens, [1, tokens.Length]);
            var rows = lm.Forward(input).squeeze(0).cpu();
            string path = parse.GetValue(outFile)!.FullName;
            SafetensorsWriter.Write(path, [("logits", rows)]);
            output.WriteLine($"wrote logits [{tokens.Length}, {vocab}] to {path}");
            return FlmCli.Success;
        }));
        return command;
    }

    private static long[] ParseIds(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var ids = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]))
                throw new UsageException($"--ids: '{parts[i]}' is not a token id (expected comma-separated non-negative integers)");
        }
        return ids;
    }
}
