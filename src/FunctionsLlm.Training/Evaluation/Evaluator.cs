using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// Base versus fine-tuned: eval loss and perplexity of each, their answers to the eval prompts with the same
/// sampling, and exact match, ROUGE-L and BLEU-4 against the reference answers. One model is in memory at a time.
/// </summary>
public static class Evaluator
{
    public const string LossCurveFile = "loss.png";

    public static EvaluationReport Run(EvaluationRequest request, EvaluationOptions? options = null, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new EvaluationOptions();
        options.Validate();
        // Everything cheap is checked before the first model loads.
        var lossCurve = ReadLossCurve(request.Metrics);
        var baseConfig = ModelConfig.Load(request.BaseModel);
        var tunedConfig = ModelConfig.Load(request.FineTunedModel);
        if (baseConfig.VocabSize != tunedConfig.VocabSize)
        {
            throw new EvaluationException(
                $"the base model has {baseConfig.VocabSize} tokens, the fine-tuned model {tunedConfig.VocabSize}: they must share a tokenizer");
        }
        foreach (string dir in new[] { request.BaseModel, request.FineTunedModel })
        {
            // Headers only: a missing tokenizer or weight file shows before the first model generates, not after.
            HfTokenizer.Load(dir);
            CheckpointReader.Open(dir).Dispose();
        }
        var tokenizer = HfTokenizer.Load(request.FineTunedModel);
        int maxSequenceLength = Math.Min(baseConfig.MaxPositionEmbeddings, tunedConfig.MaxPositionEmbeddings);
        var items = EvalSet.Load(request.Data, tokenizer, maxSequenceLength, baseConfig.VocabSize, options.Limit);
        log?.Invoke($"{items.Count} records from {request.Data}");

        var baseOutput = ModelRunner.Run(request.BaseModel, items, options, log, cancellationToken);
        var tunedOutput = ModelRunner.Run(request.FineTunedModel, items, options, log, cancellationToken);

        var references = items.Select(i => i.Reference).ToList();
        var baseAnswers = baseOutput.Answers.Zip(references, AnswerScoring.Score).ToList();
        var tunedAnswers = tunedOutput.Answers.Zip(references, AnswerScoring.Score).ToList();
        return new EvaluationReport
        {
            CreatedAt = DateTimeOffset.UtcNow,
            BaseModel = request.BaseModel,
            FineTunedModel = request.FineTunedModel,
            Data = request.Data,
            RecordCount = items.Count,
            Sampling = SamplingSettings.Of(options.Sampling, options.BatchSize),
            Base = AnswerScoring.Summarize(baseOutput, baseAnswers, references),
            FineTuned = AnswerScoring.Summarize(tunedOutput, tunedAnswers, references),
            LossCurve = lossCurve,
            Records = [.. items.Select((item, i) => new RecordResult(item.Line, item.Prompt, item.Reference, baseAnswers[i], tunedAnswers[i]))],
        };
    }

    /// <summary>The loss points of the run's metrics.jsonl, or a note saying why there is no curve.</summary>
    public static LossCurve ReadLossCurve(string? metricsPath)
    {
        if (metricsPath is null)
            return new LossCurve(null, null, "No loss curve: no training metrics (metrics.jsonl) were given.", [], []);
        var history = LossHistory.Load(metricsPath);
        if (history.IsEmpty)
            return new LossCurve(metricsPath, null, $"No loss curve: {metricsPath} has no train or eval loss.", [], []);
        return new LossCurve(metricsPath, LossCurveFile,
            $"{history.Train.Count} training logs and {history.Eval.Count} evaluations from {metricsPath}.", history.Train, history.Eval);
    }
}
