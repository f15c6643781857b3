using System.CommandLine;
using FunctionsLlm.Data.Formatting;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm format CLEANED_JSONL --model DIR --out DIR</c>: train.jsonl and eval.jsonl of token ids with answer-only labels.</summary>
internal static class FormatCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Argument<FileInfo>("CLEANED_JSONL") { Description = "cleaned.jsonl from flm clean." };
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (tokenizer.json, tokenizer_config.json).", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Output folder for train.jsonl, eval.jsonl, format-rejected.jsonl, format-report.json.", Required = true };
        var template = new Option<PromptTemplate>("--template") { Description = "seed: the tutorial's ### 指令 prompt; chat: the model's chat template.", DefaultValueFactory = _ => PromptTemplate.Seed };
        var evalFraction = new Option<double>("--eval-fraction") { Description = "Share of records for evaluation, chosen by content hash.", DefaultValueFactory = _ => 0.1 };
        var maxTokens = new Option<int?>("--max-tokens") { Description = $"Sequence length limit (default: the tokenizer's model_max_length, at most {FormattingOptions.DefaultMaxTokens})." };
        var command = new Command("format", "Render cleaned records with a prompt template and tokenize them with answer-only labels.")
        {
            input, model, outDir, template, evalFraction, maxTokens,
        };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var fraction = parse.GetValue(evalFraction);
            if (fraction is < 0 or >= 1)
                throw new UsageException($"--eval-fraction must be at least 0 and below 1, got {fraction}.");
            if (parse.GetValue(maxTokens) is <= 0)
                throw new UsageException("--max-tokens must be positive.");
            var tokenizer = HfTokenizer.Load(parse.GetValue(model)!.FullName);
            var options = new FormattingOptions { Template = parse.GetValue(template), EvalFraction = fraction, MaxTokens = parse.GetValue(maxTokens) };
            var outPath = parse.GetValue(outDir)!.FullName;
            var report = new Formatter(tokenizer, options).FormatFile(parse.GetValue(input)!.FullName, outPath);
            FormatReportPrinter.Print(output, report, outPath);
            return FlmCli.Success;
        }));
        return command;
    }
}
