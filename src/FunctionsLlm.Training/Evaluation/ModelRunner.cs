using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Loads one model, measures its eval loss and generates its answers; the model is released afterwards.</summary>
public static class ModelRunner
{
    public static ModelOutput Run(string modelDir, IReadOnlyList<EvalItem> items, EvaluationOptions options,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var tokenizer = HfTokenizer.Load(modelDir);
        using var model = ModelLoader.Load(modelDir, options.Load);
        int padId = tokenizer.PadTokenId is { } pad && pad < model.Config.VocabSize ? pad : 0;
        double loss = CausalLmLoss.Mean(model, [.. items.Select(i => i.Example)], options.BatchSize, padId);
        log?.Invoke($"{modelDir}: eval loss {loss:F4}");

        var generator = new TextGenerator(model, tokenizer);
        int seed = options.Sampling.Seed ?? 0;
        var answers = new List<GenerationResult>(items.Count);
        for (int start = 0; start < items.Count; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prompts = items.Skip(start).Take(options.BatchSize).Select(i => (IReadOnlyList<int>)i.Example.PromptIds).ToList();
            // GenerateBatch samples prompt b with Seed + b: starting the batch at seed + start gives record k seed + k.
            var sampling = options.Sampling with { Seed = unchecked(seed + start) };
            answers.AddRange(generator.GenerateBatch(prompts, sampling, cancellationToken: cancellationToken));
            log?.Invoke($"{modelDir}: answered {answers.Count}/{items.Count}");
        }
        return new ModelOutput(modelDir, loss, answers);
    }
}
