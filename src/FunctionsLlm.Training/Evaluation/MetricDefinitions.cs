namespace FunctionsLlm.Training.Evaluation;

/// <summary>The one wording of each metric's definition, shared by report.json, report.md and report.html.</summary>
public static class MetricDefinitions
{
    public const string Tokens =
        "Text metrics work on characters: every Unicode code point is a token and white space is dropped (sacrebleu's tokenize=\"char\"); no word segmentation, so Chinese and English are measured alike.";

    public const string EvalLoss =
        "Mean next-token cross-entropy (nats) over the answer tokens the formatted records label, the same loss as training; perplexity = exp(eval loss).";

    public const string ExactMatch =
        "1 when the answer equals the reference after trimming white space at both ends; inner white space, case and width are not normalised. The summary is the share of records.";

    public const string RougeL =
        "ROUGE-L F1 (β = 1, as rouge-score): longest common subsequence of characters; P = LCS/answer, R = LCS/reference, F1 = 2PR/(P+R); 0 when either side is empty. The summary is the mean over records.";

    public const string Bleu4 =
        "BLEU-4 on characters as sacrebleu 2.x: uniform weights over 1–4-gram precisions, brevity penalty, \"exp\" smoothing (NIST; NLTK method3: the k-th order with no match counts as 1/(2^k·n-grams)). The summary is corpus BLEU (statistics summed over records); each record shows sentence BLEU with sacrebleu's effective order.";

    public const string Sampling =
        "Both models answer the same prompts with the same sampling settings; record i is sampled with seed + i, so batching does not change the answers. Temperature 0 (the default) is greedy decoding, which makes the evaluation reproducible.";

    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>
    {
        ["tokens"] = Tokens,
        ["evalLoss"] = EvalLoss,
        ["exactMatch"] = ExactMatch,
        ["rougeL"] = RougeL,
        ["bleu4"] = Bleu4,
        ["sampling"] = Sampling,
    };
}
