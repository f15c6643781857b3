using System.CommandLine;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm clean INPUT --out DIR</c>: cleaned.jsonl, rejected.jsonl and report.json.</summary>
internal static class CleanCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Argument<FileInfo>("INPUT") { Description = "Uploaded data: a JSON array or JSONL of alpaca, OpenAI messages or ShareGPT records." };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Output folder for cleaned.jsonl, rejected.jsonl and report.json.", Required = true };
        var minOutputChars = new Option<int>("--min-output-chars") { Description = "Minimum answer length in characters.", DefaultValueFactory = _ => 10 };
        var maxRecordBytes = new Option<long>("--max-record-bytes") { Description = "Records larger than this are rejected.", DefaultValueFactory = _ => 1024 * 1024 };
        var dedup = new Option<DedupMode>("--dedup") { Description = "Duplicate removal: exact, normalized (also ignores case, width, whitespace, punctuation) or none.", DefaultValueFactory = _ => DedupMode.Normalized };
        var dedupMemory = new Option<int>("--dedup-memory-mb") { Description = "Memory for duplicate detection; past it, the rest is de-duplicated through temporary files in --out (same result).", DefaultValueFactory = _ => 100 };
        var maskPii = new Option<bool>("--mask-pii") { Description = "Replace phone numbers, e-mail addresses and mainland-China ID numbers with placeholders." };
        var model = new Option<DirectoryInfo?>("--model") { Description = "Model folder whose tokenizer enforces --max-tokens." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "With --model: reject records whose prompt plus answer exceed this many tokens.", DefaultValueFactory = _ => 1024 };

        var command = new Command("clean", "Clean uploaded Q&A data: the seed's rules plus type, encoding, duplicate and size checks.")
        {
            input, outDir, minOutputChars, maxRecordBytes, dedup, dedupMemory, maskPii, model, maxTokens,
        };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var modelDir = parse.GetValue(model);
            var options = new CleaningOptions
            {
                MinOutputChars = parse.GetValue(minOutputChars),
                MaxRecordBytes = parse.GetValue(maxRecordBytes),
                Dedup = parse.GetValue(dedup),
                DedupMemoryBytes = Math.Max(1, parse.GetValue(dedupMemory)) * 1024L * 1024,
                MaskPii = parse.GetValue(maskPii),
                CountTokens = modelDir is null ? null : HfTokenizer.Load(modelDir.FullName).CountTokens,
                MaxTokens = parse.GetValue(maxTokens),
            };
            var outPath = parse.GetValue(outDir)!.FullName;
            var report = new Cleaner(options).CleanFile(parse.GetValue(input)!.FullName, outPath);
            ReportPrinter.Print(output, error, report, outPath);
            return FlmCli.Success;
        }));
        return command;
    }
}
