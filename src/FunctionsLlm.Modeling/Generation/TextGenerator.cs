using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// Autoregressive generation with a KV cache: one prefill of the (left-padded) prompts, then one forward pass per
/// new token for the whole batch. Text is streamed per sequence without splitting UTF-8 characters.
/// </summary>
public sealed class TextGenerator(CausalLM model, HfTokenizer tokenizer)
{
    public CausalLM Model { get; } = model;

    public HfTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>Generates a continuation of <paramref name="promptIds"/>; <paramref name="onText"/> receives text as it is decided.</summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, SamplingOptions options, Action<string>? onText = null,
        CancellationToken cancellationToken = default) =>
        GenerateBatch([promptIds], options, onText is null ? null : (_, text) => onText(text), cancellationToken)[0];

    /// <summary>Generates for several prompts at once; each sequence gets the same result as it would alone.</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options,
        Action<int, string>? onText = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0))
            throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        long vocab = Model.Config.VocabSize;
        foreach (int id in prompts.SelectMany(p => p))
        {
            if (id < 0 || id >= vocab)
                throw new ArgumentException($"token id {id} is outside the vocabulary (0..{vocab - 1})", nameof(prompts));
        }
        int longest = prompts.Max(p => p.Count);
        int budget = Math.Min(options.MaxTokens, Model.Config.MaxPositionEmbeddings - longest);
        if (budget < 1)
            throw new ArgumentException($"the prompt has {longest} tokens; the model's context is {Model.Config.MaxPositionEmbeddings}", nameof(prompts));

        int seed = options.Seed ?? Random.Shared.Next();
        var sequences = prompts.Select((p, i) => new GenerationSequence(Model, Tokenizer, options, seed + i, p, budget)).ToArray();
        using var noGrad = no_grad();
        using var cache = Model.CreateCache(prompts.Count, longest + budget);
        var logits = Prefill(prompts, longest, cache);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int[] running = [.. Enumerable.Range(0, sequences.Length).Where(b => !sequences[b].Finished)];
                int[] ids = GenerationSequence.ChooseAt(logits, running, [.. running.Select(b => sequences[b])]);
                var next = new long[prompts.Count];
                for (int i = 0; i < running.Length; i++)
                {
                    int b = running[i];
                    next[b] = ids[i];
                    string text = sequences[b].Accept(ids[i]);
                    if (text.Length > 0)
                        onText?.Invoke(b, text);
                }
                if (sequences.All(s => s.Finished))
                    break;
                using var input = tensor(next, [prompts.Count, 1], ScalarType.Int64);
                logits.Dispose();
                logits = Model.Forward(input, cache, lastPositionOnly: true);
            }
        }
        finally
        {
            logits.Dispose();
        }
        return [.. sequences.Select(s => s.Result)];
    }

    private Tensor Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int longest, KvCache cache)
    {
        var ids = new long[prompts.Count * longest];
        var mask = new bool[prompts.Count * longest];
        for (int b = 0; b < prompts.Count; b++)
        {
            int padding = longest - prompts[b].Count;
            for (int i = 0; i < prompts[b].Count; i++)
            {
                ids[(b * longest) + padding + i] = prompts[b][i];
                mask[(b * longest) + padding + i] = true;
            }
        }
        using var input = tensor(ids, [prompts.Count, longest], ScalarType.Int64);
        using var attention = tensor(mask, [prompts.Count, longest]);
        return Model.Forward(input, cache, attention, lastPositionOnly: true);
    }
}
