using System.Text;
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

        var stopIds = (options.StopTokenIds ?? Model.EosTokenIds).ToHashSet();
        int seed = options.Seed ?? Random.Shared.Next();
        var sequences = prompts.Select((p, i) => new Sequence(this, options, seed + i, p)).ToArray();
        try
        {
            using var noGrad = no_grad();
            using var cache = Model.CreateCache(prompts.Count, longest + budget);
            var logits = Prefill(prompts, longest, cache);
            for (int step = 0; ; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var next = new long[prompts.Count];
                for (int b = 0; b < sequences.Length; b++)
                {
                    var sequence = sequences[b];
                    if (sequence.Finished)
                        continue;
                    using var row = logits[b, 0];
                    int id = sequence.Choose(row);
                    next[b] = id;
                    string text = sequence.Accept(id, stopIds.Contains(id), atBudget: step + 1 == budget);
                    if (text.Length > 0)
                        onText?.Invoke(b, text);
                }
                logits.Dispose();
                if (sequences.All(s => s.Finished))
                    break;
                using var input = tensor(next, [prompts.Count, 1], ScalarType.Int64);
                logits = Model.Forward(input, cache, lastPositionOnly: true);
            }
        }
        finally
        {
            foreach (var sequence in sequences)
                sequence.Dispose();
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

    /// <summary>One sequence's sampler, decoder, stop-string filter and output.</summary>
    private sealed class Sequence : IDisposable
    {
        private readonly TextGenerator _owner;
        private readonly SamplingOptions _options;
        private readonly TokenSampler _sampler;
        private readonly StreamingDecoder _decoder;
        private readonly StopStringFilter _stops;
        private readonly List<int> _ids = [];
        private readonly List<TokenLogprob> _logprobs = [];
        private readonly StringBuilder _text = new();
        private readonly int _promptTokens;
        private FinishReason _finishReason;

        public Sequence(TextGenerator owner, SamplingOptions options, int seed, IReadOnlyList<int> prompt)
        {
            _owner = owner;
            _options = options;
            _sampler = new TokenSampler(options, seed, owner.Model.Config.VocabSize, owner.Model.Device, prompt);
            _decoder = new StreamingDecoder(owner.Tokenizer, skipSpecialTokens: true);
            _stops = new StopStringFilter(options.StopStrings);
            _promptTokens = prompt.Count;
        }

        public bool Finished { get; private set; }

        public GenerationResult Result => new(_ids, _text.ToString(), _finishReason, _promptTokens, _logprobs);

        public int Choose(Tensor logits)
        {
            int id = _sampler.Next(logits);
            if (_options.TopLogprobs is { } top)
                _logprobs.Add(Logprobs(logits, id, top));
            return id;
        }

        /// <summary>Records the chosen id; returns the text it makes safe to emit.</summary>
        public string Accept(int id, bool isStopToken, bool atBudget)
        {
            string emitted = "";
            if (isStopToken)
            {
                if (_logprobs.Count > _ids.Count)
                    _logprobs.RemoveAt(_logprobs.Count - 1);
                _finishReason = FinishReason.Stop;
                Finished = true;
            }
            else
            {
                _ids.Add(id);
                _sampler.Remember(id);
                emitted = _stops.Push(_decoder.Push(id));
                if (_stops.Stopped)
                {
                    _finishReason = FinishReason.Stop;
                    Finished = true;
                }
                else if (atBudget)
                {
                    _finishReason = FinishReason.Length;
                    Finished = true;
                }
            }
            if (Finished && !_stops.Stopped)
                emitted += _stops.Push(_decoder.Flush()) + _stops.Flush();
            _text.Append(emitted);
            return emitted;
        }

        private TokenLogprob Logprobs(Tensor logits, int chosen, int top)
        {
            using var scope = NewDisposeScope();
            var logProbabilities = logits.log_softmax(0);
            var alternatives = new List<TokenLogprob>();
            if (top > 0)
            {
                var (values, indices) = logProbabilities.topk(top);
                float[] v = values.cpu().data<float>().ToArray();
                long[] ix = indices.cpu().data<long>().ToArray();
                for (int i = 0; i < v.Length; i++)
                    alternatives.Add(new TokenLogprob((int)ix[i], TokenText((int)ix[i]), v[i], []));
            }
            return new TokenLogprob(chosen, TokenText(chosen), logProbabilities[chosen].item<float>(), alternatives);
        }

        private string TokenText(int id) => _owner.Tokenizer.Decode([id]);

        public void Dispose() => _sampler.Dispose();
    }
}
