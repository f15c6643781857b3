using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Scores answers against references: per record, and summed up per model.</summary>
public static class AnswerScoring
{
    public static AnswerResult Score(GenerationResult answer, string reference)
    {
        string text = answer.Text.Trim();
        return new AnswerResult(text, answer.FinishReason, answer.TokenIds.Count,
            ExactMatch.Of(text, reference), RougeL.Characters(text, reference).F1, Bleu.Sentence(text, reference).Score);
    }

    public static ModelSummary Summarize(ModelOutput output, IReadOnlyList<AnswerResult> answers, IReadOnlyList<string> references) => new(
        output.ModelDir,
        output.EvalLoss,
        Math.Exp(output.EvalLoss),
        answers.Average(a => a.ExactMatch ? 1.0 : 0.0),
        answers.Average(a => a.RougeL),
        Bleu.Corpus(answers.Zip(references, (a, r) => (a.Text, r))).Score,
        answers.Average(a => a.Bleu4),
        answers.Sum(a => (long)a.GeneratedTokens),
        answers.Count(a => a.FinishReason == FinishReason.Length));
}
