using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Data.Json;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Streams an upload through the cleaning rules: kept records to cleaned.jsonl, every reject with its location,
/// reason and original text to rejected.jsonl, and the counts to the report. Never modifies the input; bad records
/// never stop the run (only a broken JSON array ends it early, keeping what came before).
/// </summary>
public sealed class Cleaner(CleaningOptions options)
{
    public const string CleanedFile = "cleaned.jsonl";
    public const string RejectedFile = "rejected.jsonl";
    public const string ReportFile = "report.json";

    private const int ExampleRecordChars = 300;

    /// <summary>Sizes the de-duplication table up front from the input's length (it grows if records are smaller).</summary>
    private const int TypicalRecordBytes = 256;

    /// <summary>How far ahead the de-duplication table is prefetched.</summary>
    private const int LookAhead = 8;

    /// <summary>Cleans <paramref name="inputPath"/> into <paramref name="outputDirectory"/> (cleaned.jsonl, rejected.jsonl, report.json).</summary>
    /// <exception cref="UnreadableInputException">The file as a whole is not JSON/JSONL text.</exception>
    public CleaningReport CleanFile(string inputPath, string outputDirectory, CancellationToken cancellationToken = default)
    {
        var report = NewReport();
        using (var input = new FileStream(inputPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        using (var reader = new ConversationReader(input, options)) // refuses unreadable input before any output exists
        {
            Directory.CreateDirectory(outputDirectory);
            using var cleaned = OutputFile.Create(Path.Combine(outputDirectory, CleanedFile));
            using var rejected = OutputFile.Create(Path.Combine(outputDirectory, RejectedFile));
            Clean(reader, report, cleaned, rejected, input.Length, options.SpillDirectory ?? outputDirectory, cancellationToken);
        }
        report.Input = inputPath;
        WriteReport(report, Path.Combine(outputDirectory, ReportFile));
        return report;
    }

    /// <exception cref="UnreadableInputException">The input as a whole is not JSON/JSONL text.</exception>
    public CleaningReport Clean(Stream input, Stream cleanedOutput, Stream rejectedOutput, CancellationToken cancellationToken = default)
    {
        var report = NewReport();
        using var reader = new ConversationReader(input, options);
        return Clean(reader, report, cleanedOutput, rejectedOutput, input.CanSeek ? input.Length - input.Position : null,
            options.SpillDirectory ?? Path.GetTempPath(), cancellationToken);
    }

    private CleaningReport NewReport() => new()
    {
        Settings = new CleaningSettings(options.MinOutputChars, options.MaxRecordBytes, options.Dedup, options.MaskPii,
            options.CountTokens is null ? null : options.MaxTokens),
    };

    private CleaningReport Clean(ConversationReader reader, CleaningReport report, Stream cleanedOutput, Stream rejectedOutput,
        long? inputBytes, string spillDirectory, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var deduplicator = new Deduplicator(options.Dedup, options.DedupMemoryBytes, (inputBytes ?? 0) / TypicalRecordBytes);
        report.Encoding = reader.Encoding;
        report.Kind = reader.Kind;
        using var kept = new JsonLinesWriter(cleanedOutput);
        using var rejects = new JsonLinesWriter(rejectedOutput);
        var keptPerFormat = new long[Enum.GetValues<RecordFormat>().Length];
        DedupSpill? spill = null;
        try
        {
            // Records that need no fix skip the full parse (see AlpacaFastPath); PII masking and token counts need the texts.
            RecordShortcut<Measures>? shortcut = options.MaskPii || options.CountTokens is not null || !options.UseFastPath ? null : FastPath;
            long bytesRead = 0;
            var assembled = new byte[4096];
            foreach (var batch in reader.ReadBatches(c => Measure(c, deduplicator), shortcut, cancellationToken))
            {
                var results = batch.Span;
                for (var i = 0; i < results.Length; i++)
                {
                    // The table look-up is a cache miss: start the one a few records ahead now.
                    if (i + LookAhead < results.Length)
                        deduplicator.Prefetch(results[i + LookAhead].Work.Fingerprints);
                    ref readonly var result = ref results[i];
                    report.RecordsIn++;
                    bytesRead += result.Record.ByteLength;
                    var measures = result.Work;
                    var undecided = false;
                    var issue = result.IsReadable ? Check(measures, result.Record.Location.Line, deduplicator, out undecided) : result.Issue;
                    var json = issue.Message is null ? CleanedJson(result.Record, measures, ref assembled) : default;
                    if (deduplicator.IsFull)
                    {
                        // Past the table's memory budget the output order waits for the spill (see DedupSpill).
                        spill ??= new DedupSpill(spillDirectory, options.Dedup, DedupSpill.PartitionsFor(
                            inputBytes is { } total ? (long)((double)(total - bytesRead) * report.RecordsIn / Math.Max(1, bytesRead)) : null,
                            deduplicator.Remembered));
                        spill.Add(result.Record, issue, measures.Format, json, undecided ? measures.Fingerprints : null);
                        continue;
                    }
                    Emit(report, keptPerFormat, kept, rejects, result.Record, issue, measures.Format, json);
                }
            }
            if (spill is not null)
            {
                deduplicator.Dispose();
                report.DedupSpilledRecords = spill.Spooled;
                foreach (var spooled in spill.Replay(cancellationToken))
                    Emit(report, keptPerFormat, kept, rejects, spooled.Record, spooled.Issue, spooled.Format, spooled.Json);
            }
        }
        finally
        {
            spill?.Dispose();
        }
        foreach (var format in Enum.GetValues<RecordFormat>().Where(f => keptPerFormat[(int)f] > 0))
            report.Formats[format.ToString().ToLowerInvariant()] = keptPerFormat[(int)format];
        report.Fixes = reader.Stats;
        report.StoppedEarly = reader.StoppedEarly;
        report.ElapsedSeconds = Math.Round(stopwatch.Elapsed.TotalSeconds, 3);
        return report;
    }

    private static ReadOnlySpan<byte> CleanedJson(RawRecord record, in Measures measures, ref byte[] buffer) =>
        measures.Json ?? AlpacaFastPath.CleanedJson(record.Utf8.Span, measures.FastFields, ref buffer);

    private void Emit(CleaningReport report, long[] keptPerFormat, JsonLinesWriter kept, JsonLinesWriter rejects, RawRecord record,
        RecordIssue issue, RecordFormat format, ReadOnlySpan<byte> json)
    {
        if (issue.Message is not null)
        {
            Reject(report, rejects, record, issue);
            return;
        }
        kept.WriteLine(json);
        report.RecordsOut++;
        keptPerFormat[(int)format]++;
    }

    /// <summary>Everything about a record that can be computed on its own, off the ordered path: the cleaned JSON as
    /// <see cref="Json"/>, or for a record the fast path read, where to assemble it from (<see cref="FastFields"/>).</summary>
    private readonly record struct Measures(RecordFormat Format, int AnswerChars, int PromptTokens, int AnswerTokens,
        RecordFingerprints Fingerprints, byte[]? Json, AlpacaFastPath.Fields FastFields);

    private bool FastPath(ReadOnlySpan<byte> utf8Json, out Measures measures)
    {
        measures = default;
        if (AlpacaFastPath.TryRead(utf8Json, options.Dedup) is not { } fast)
            return false;
        measures = new Measures(RecordFormat.Alpaca, fast.AnswerChars, 0, 0, fast.Fingerprints, null, fast.Fields);
        return true;
    }

    private Measures Measure(Conversation conversation, Deduplicator deduplicator)
    {
        var (promptTokens, answerTokens) = options.CountTokens is { } count
            ? (count(string.Join('\n', conversation.Messages.SkipLast(1).Select(m => m.Content))), count(conversation.Answer))
            : (0, 0);
        return new Measures(conversation.Format, CountCharacters(conversation.Answer), promptTokens, answerTokens, deduplicator.Fingerprint(conversation),
            JsonLinesWriter.Serialize(conversation, ConversationJson.Write), default);
    }

    /// <summary>The rules that look at a whole conversation: answer length, token budget, duplicates (in input order).</summary>
    private RecordIssue Check(Measures measures, long line, Deduplicator deduplicator, out bool undecided)
    {
        undecided = false;
        if (measures.AnswerChars < options.MinOutputChars)
            return new RecordIssue(RejectReason.OutputTooShort,
                $"answer has {measures.AnswerChars} characters; at least {options.MinOutputChars} required (--min-output-chars)");
        var tokens = measures.PromptTokens + measures.AnswerTokens;
        if (options.CountTokens is not null && tokens > options.MaxTokens)
            return new RecordIssue(RejectReason.OverTokenBudget,
                $"record needs {tokens} tokens (prompt {measures.PromptTokens} + answer {measures.AnswerTokens}); the budget is {options.MaxTokens} (--max-tokens)");
        return deduplicator.Check(measures.Fingerprints, line, out undecided) ?? default;
    }

    /// <summary>Characters as Python's len counts them (code points), so the seed's 10-character rule means the same.</summary>
    private static int CountCharacters(string text)
    {
        var surrogates = 0;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c)) surrogates++;
        }
        return text.Length - surrogates;
    }

    private void Reject(CleaningReport report, JsonLinesWriter rejects, RawRecord record, RecordIssue issue)
    {
        report.RecordsRejected++;
        report.Rejected[issue.Reason] = report.Rejected.GetValueOrDefault(issue.Reason) + 1;
        var text = Encoding.UTF8.GetString(record.Utf8.Span);
        rejects.WriteLine(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("line", record.Location.Line);
            if (record.Location.Index is { } index)
            {
                w.WriteNumber("index", index);
                w.WriteNumber("column", record.Location.Column);
            }
            w.WriteString("reason", ReasonCode(issue.Reason));
            w.WriteString("message", issue.Message);
            w.WriteString("record", text);
            if (record.IsTruncated)
            {
                w.WriteNumber("recordBytes", record.ByteLength);
                w.WriteBoolean("recordTruncated", true);
            }
            if (issue.Reason == RejectReason.InvalidUtf8)
                w.WriteBase64String("recordBase64", record.Utf8.Span);
            w.WriteEndObject();
        });

        if (!report.Examples.TryGetValue(issue.Reason, out var examples))
            report.Examples[issue.Reason] = examples = [];
        if (examples.Count < options.ExamplesPerReason)
        {
            var shown = text.Length > ExampleRecordChars ? text[..ExampleRecordChars] + "…" : text;
            examples.Add(new RejectExample(record.Location.Line, record.Location.Index, issue.Message, shown));
        }
    }

    public static string ReasonCode(RejectReason reason) => JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString());

    private static readonly JsonSerializerOptions ReportOptions = new(JsonDefaults.Indented) { TypeInfoResolver = CleaningReportJson.Default };

    private static void WriteReport(CleaningReport report, string path)
    {
        using var file = OutputFile.Create(path);
        JsonSerializer.Serialize(file, report, ReportOptions);
    }
}
