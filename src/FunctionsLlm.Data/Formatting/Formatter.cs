using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Data.Json;
using FunctionsLlm.Data.Records;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Formatting;

/// <summary>
/// cleaned.jsonl → train.jsonl and eval.jsonl of <c>{input_ids, labels, line, coverage}</c>: prompts rendered with the
/// seed template or the model's chat template, prompt tokens labelled -100, answers (and their end token) learned.
/// </summary>
public sealed class Formatter
{
    public const string TrainFile = "train.jsonl";
    public const string EvalFile = "eval.jsonl";
    public const string RejectedFile = "format-rejected.jsonl";
    public const string ReportFile = "format-report.json";
    public const string TruncatedFile = "format-truncated.jsonl";

    private readonly HfTokenizer _tokenizer;
    private readonly FormattingOptions _options;
    private readonly ChatPrompt? _chat;
    private readonly string _eosToken;

    public Formatter(HfTokenizer tokenizer, FormattingOptions options)
    {
        _tokenizer = tokenizer;
        _options = options;
        if (options.EvalFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.EvalFraction, "The eval fraction must be at least 0 and below 1.");
        _eosToken = tokenizer.EosToken ?? throw new InvalidDataException(
            "The tokenizer has no eos_token (tokenizer_config.json): answers need an end token to be learned.");
        MaxTokens = options.MaxTokens ?? (int)Math.Min(tokenizer.Config.ModelMaxLength ?? FormattingOptions.DefaultMaxTokens, FormattingOptions.DefaultMaxTokens);
        if (options.Template == PromptTemplate.Chat)
        {
            var template = tokenizer.ChatTemplate ?? throw new InvalidDataException(
                "The model has no chat_template in tokenizer_config.json: use --template seed.");
            _chat = new ChatPrompt(template, tokenizer.BosToken, _eosToken, tokenizer.SpecialTokens.Keys);
        }
    }

    public int MaxTokens { get; }

    public FormatReport FormatFile(string cleanedPath, string outputDirectory, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var report = new FormatReport { Input = cleanedPath, Template = _options.Template, MaxTokens = MaxTokens, EvalFraction = _options.EvalFraction };
        var trainPath = Path.Combine(outputDirectory, TrainFile);
        var evalPath = Path.Combine(outputDirectory, EvalFile);
        var masker = new LabelMasker(_tokenizer);
        (ulong Fingerprint, long Index)? mostEvalLikeTrain = null, mostTrainLikeEval = null;
        double coverageSum = 0;

        using (var input = File.OpenRead(cleanedPath))
        using (var reader = new ConversationReader(input, new CleaningOptions { Dedup = DedupMode.None }))
        {
            Directory.CreateDirectory(outputDirectory); // only once the input is known to be readable
            using var train = new JsonLinesWriter(OutputFile.Create(trainPath));
            using var eval = new JsonLinesWriter(OutputFile.Create(evalPath));
            using var rejects = new JsonLinesWriter(OutputFile.Create(Path.Combine(outputDirectory, RejectedFile)));
            using var truncated = new JsonLinesWriter(OutputFile.Create(Path.Combine(outputDirectory, TruncatedFile)));
            foreach (var (record, conversation, readIssue, outcome, _) in reader.Read(c => Prepare(c, masker), cancellationToken))
            {
                report.RecordsIn++;
                var line = record.Location.Line;
                if (conversation is null)
                {
                    Reject(report, rejects, line, FormatRejectReason.Unreadable, $"{Cleaner.ReasonCode(readIssue.Reason)}: {readIssue.Message}");
                    continue;
                }
                if (outcome.Example is not { } example)
                {
                    Reject(report, rejects, line, outcome.Reason!.Value, outcome.Problem!);
                    continue;
                }

                var fingerprint = outcome.Fingerprint;
                if (DatasetSplit.IsEval(fingerprint, _options.EvalFraction))
                {
                    if (mostTrainLikeEval is null || fingerprint > mostTrainLikeEval.Value.Fingerprint)
                        mostTrainLikeEval = (fingerprint, eval.Count);
                    Write(eval, example, line);
                }
                else
                {
                    if (mostEvalLikeTrain is null || fingerprint < mostEvalLikeTrain.Value.Fingerprint)
                        mostEvalLikeTrain = (fingerprint, train.Count);
                    Write(train, example, line);
                }
                report.Tokens += example.InputIds.Length;
                report.AnswerTokens += example.KeptAnswerTokens;
                coverageSum += example.Coverage;
                report.LabelCoverage.Min = Math.Min(report.LabelCoverage.Min, example.Coverage);
                if (example.KeptAnswerTokens == example.AnswerTokens)
                    report.LabelCoverage.FullyCovered++;
                else
                {
                    var cut = new TruncatedRecord(line, example.InputIds.Length, example.AnswerTokens, example.KeptAnswerTokens, Math.Round(example.Coverage, 4));
                    truncated.WriteLine(w => JsonSerializer.Serialize(w, cut, JsonDefaults.Compact));
                    if (++report.TruncatedRecords <= FormatReport.TruncatedExamples)
                        report.Truncated.Add(cut);
                }
            }
            report.Train = train.Count;
            report.Eval = eval.Count;
        }

        // Both splits get a record whenever there are two: move the record closest to the boundary.
        if (_options.EvalFraction > 0 && report.Train + report.Eval >= 2)
        {
            if (report.Eval == 0 && mostEvalLikeTrain is { } toEval)
            {
                MoveLine(trainPath, evalPath, toEval.Index);
                (report.Train, report.Eval) = (report.Train - 1, 1);
            }
            else if (report.Train == 0 && mostTrainLikeEval is { } toTrain)
            {
                MoveLine(evalPath, trainPath, toTrain.Index);
                (report.Train, report.Eval) = (1, report.Eval - 1);
            }
        }
        var kept = report.Train + report.Eval;
        report.LabelCoverage.Mean = kept == 0 ? 0 : Math.Round(coverageSum / kept, 4);
        report.LabelCoverage.Min = kept == 0 ? 0 : Math.Round(report.LabelCoverage.Min, 4);
        report.ElapsedSeconds = Math.Round(stopwatch.Elapsed.TotalSeconds, 3);
        using (var file = OutputFile.Create(Path.Combine(outputDirectory, ReportFile)))
            JsonSerializer.Serialize(file, report, JsonDefaults.Indented);
        return report;
    }

    /// <summary>Rendering and tokenization of one record: runs in parallel, off the ordered path.</summary>
    private readonly record struct Outcome(TokenizedExample? Example, FormatRejectReason? Reason, string? Problem, ulong Fingerprint);

    private Outcome Prepare(Conversation conversation, LabelMasker masker)
    {
        var training = Render(conversation, out var reason, out var problem);
        if (training is null)
            return new Outcome(null, reason, problem, default);
        TokenizedExample example;
        try
        {
            example = masker.Tokenize(training, MaxTokens);
        }
        catch (TokenizerAltersTextException e)
        {
            return new Outcome(null, FormatRejectReason.TokenizerAltersText, e.Message, default);
        }
        if (example.KeptAnswerTokens == 0)
            return new Outcome(null, FormatRejectReason.AnswerTruncated,
                $"the prompt alone takes {MaxTokens} or more tokens: no answer token would be learned (--max-tokens {MaxTokens})", default);
        return new Outcome(example, null, null, ConversationFingerprint.Of(conversation));
    }

    private TrainingText? Render(Conversation conversation, out FormatRejectReason? reason, out string? problem)
    {
        if (_chat is not null)
            return _chat.Render(conversation, out reason, out problem);
        var text = SeedPrompt.Render(conversation, _eosToken, out problem);
        reason = text is null ? FormatRejectReason.MultiTurnNeedsChatTemplate : null;
        return text;
    }

    private static void Write(JsonLinesWriter writer, TokenizedExample example, long line) => writer.WriteLine(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("input_ids");
        foreach (var id in example.InputIds) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteStartArray("labels");
        foreach (var label in example.Labels) w.WriteNumberValue(label);
        w.WriteEndArray();
        w.WriteNumber("line", line);
        w.WriteNumber("coverage", Math.Round(example.Coverage, 4));
        w.WriteEndObject();
    });

    private static void Reject(FormatReport report, JsonLinesWriter rejects, long line, FormatRejectReason reason, string message)
    {
        report.RecordsRejected++;
        report.Rejected[reason] = report.Rejected.GetValueOrDefault(reason) + 1;
        rejects.WriteLine(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("line", line);
            w.WriteString("reason", JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString()));
            w.WriteString("message", message);
            w.WriteEndObject();
        });
    }

    /// <summary>Moves the line at <paramref name="index"/> of one JSONL file to the end of another.</summary>
    private static void MoveLine(string fromPath, string toPath, long index)
    {
        var lines = File.ReadLines(fromPath, Encoding.UTF8).ToList();
        File.AppendAllText(toPath, lines[(int)index] + "\n", new UTF8Encoding(false));
        lines.RemoveAt((int)index);
        File.WriteAllText(fromPath, lines.Count == 0 ? "" : string.Join('\n', lines) + "\n", new UTF8Encoding(false));
    }
}
