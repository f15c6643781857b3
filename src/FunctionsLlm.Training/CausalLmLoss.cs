using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Training.Data;
using static TorchSharp.torch;

namespace FunctionsLlm.Training;

/// <summary>Next-token cross-entropy over the labelled positions, as HF's causal LM loss.</summary>
public static class CausalLmLoss
{
    /// <summary>
    /// Sum of −log p(label) over positions 1.. whose label is not −100, predicted from the logits one step earlier.
    /// logits (B, T, V), labels (B, T) int64. Divide by the learned-token count of the (accumulated) batch.
    /// </summary>
    public static Tensor Sum(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long vocab = logits.shape[^1];
        var predicted = logits.narrow(1, 0, logits.shape[1] - 1).reshape(-1, vocab);
        var targets = labels.narrow(1, 1, labels.shape[1] - 1).reshape(-1);
        return nn.functional.cross_entropy(predicted, targets, ignore_index: TrainingExample.IgnoreIndex, reduction: nn.Reduction.Sum)
            .MoveToOuterDisposeScope();
    }

    /// <summary>Mean loss per learned token over the examples (no gradients), in batches of <paramref name="batchSize"/>.</summary>
    public static double Mean(CausalLM model, IReadOnlyList<TrainingExample> examples, int batchSize, int padId)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double total = 0;
            long tokens = 0;
            foreach (var chunk in examples.Chunk(batchSize))
            {
                using var batch = Batch.Collate(chunk, padId, model.Device);
                using var logits = model.Forward(batch.InputIds, attentionMask: batch.AttentionMask);
                using var sum = Sum(logits, batch.Labels);
                total += sum.item<float>();
                tokens += batch.LearnedTokens;
            }
            return total / tokens;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
