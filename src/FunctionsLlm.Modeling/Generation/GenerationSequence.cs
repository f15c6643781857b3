using System.Text;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// One sequence being generated: its sampler, streaming decoder, stop conditions, token budget and output.
/// A decoding loop hands it each step's logits (<see cref="Choose"/>, or <see cref="ChooseAll"/> for a batch) and the
/// chosen id (<see cref="Accept"/>); batched loops keep one per row, so every sequence gets the result it would get alone.
/// </summary>
public sealed class GenerationSequence
{
    private readonly SamplingOptions _options;
    private readonly HfTokenizer _tokenizer;
    private readonly TokenSampler _sampler;
    private readonly StreamingDecoder _decoder;
    private readonly StopStringFilter _stops;
    private readonly IReadOnlySet<int> _stopIds;
    private readonly int _budget;
    private readonly List<int> _ids = [];
    private readonly List<TokenLogprob> _logprobs = [];
    private readonly StringBuilder _text = new();
    private readonly int _promptTokens;
    private FinishReason _finishReason;

    /// <param name="maxNewTokens">The most tokens to generate (the caller caps it by the room left in the context).</param>
    /// <param name="seed">Seeds the sampler; the same seed, prompt and options give the same tokens.</param>
    public GenerationSequence(CausalLM model, HfTokenizer tokenizer, SamplingOptions options, int seed, IReadOnlyList<int> prompt,
        int maxNewTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        options.Validate();
        _options = options;
        _tokenizer = tokenizer;
        _sampler = new TokenSampler(options, seed, model.Config.VocabSize, prompt);
        _decoder = new StreamingDecoder(tokenizer, skipSpecialTokens: true);
        _stops = new StopStringFilter(options.StopStrings);
        _stopIds = (options.StopTokenIds ?? model.EosTokenIds).ToHashSet();
        _budget = maxNewTokens;
        _promptTokens = prompt.Count;
    }

    public bool Finished { get; private set; }

    public int PromptTokens => _promptTokens;

    /// <summary>Generated ids so far, without a stop token.</summary>
    public IReadOnlyList<int> TokenIds => _ids;

    /// <summary>One entry per generated id when log-probabilities were requested.</summary>
    public IReadOnlyList<TokenLogprob> Logprobs => _logprobs;

    public GenerationResult Result => new([.. _ids], _text.ToString(), _finishReason, _promptTokens, [.. _logprobs]);

    /// <summary>Picks the next id from this sequence's fp32 logits (vocab) and records its log-probabilities if asked.</summary>
    public int Choose(Tensor logits)
    {
        using var row = logits.unsqueeze(0);
        return ChooseAll(row, [this])[0];
    }

    /// <summary>
    /// <see cref="ChooseAll"/> for the sequences at <paramref name="rows"/> (ascending) of a batch's last-position fp32
    /// logits (batch, 1, vocab); the other rows (finished ones) are not sampled.
    /// </summary>
    public static int[] ChooseAt(Tensor lastLogits, IReadOnlyList<int> rows, IReadOnlyList<GenerationSequence> sequences)
    {
        using var scope = NewDisposeScope();
        var all = lastLogits.select(1, 0);
        var picked = rows.Count == all.shape[0] ? all
            : all.index_select(0, tensor(rows.Select(r => (long)r).ToArray(), [rows.Count], ScalarType.Int64, all.device));
        return ChooseAll(picked, sequences);
    }

    /// <summary>
    /// Picks the next id of each sequence from its row of fp32 logits (sequences, vocab) with batched ops, and records
    /// log-probabilities for those that asked; each gets what <see cref="Choose"/> gives it alone.
    /// </summary>
    public static int[] ChooseAll(Tensor logits, IReadOnlyList<GenerationSequence> sequences)
    {
        int[] ids = BatchSampler.Next(logits, [.. sequences.Select(s => s._sampler)]);
        int[] asking = [.. Enumerable.Range(0, sequences.Count).Where(i => sequences[i]._options.TopLogprobs is not null)];
        var shifts = asking.Length > 0 && LogitRows.Readable(logits) ? LogitRows.LogSoftmaxShifts(logits, asking) : null;
        for (int k = 0; k < asking.Length; k++)
        {
            int i = asking[k];
            using var row = logits[i];
            sequences[i]._logprobs.Add(sequences[i].LogprobsOf(row, ids[i], sequences[i]._options.TopLogprobs!.Value, shifts?[k]));
        }
        return ids;
    }

    /// <summary>Records the chosen id; returns the text it makes safe to emit (possibly empty).</summary>
    public string Accept(int id)
    {
        if (Finished)
            throw new InvalidOperationException("the sequence has finished");
        string emitted = "";
        if (_stopIds.Contains(id))
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
            else if (_ids.Count >= _budget)
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

    /// <summary>
    /// The chosen id's log-probability and the top ones'; from <paramref name="shift"/> (<see cref="LogitRows"/>) where
    /// the logits are in CPU memory, else by libtorch's log_softmax.
    /// </summary>
    private TokenLogprob LogprobsOf(Tensor logits, int chosen, int top, (float Max, float LogSum)? shift)
    {
        using var scope = NewDisposeScope();
        if (shift is var (max, logSum))
        {
            var row = LogitRows.Row(logits, 0);
            var picked = new List<TokenLogprob>();
            if (top > 0)
            {
                // topk of the logits is topk of their log-probabilities.
                foreach (long id in logits.topk(top).indexes.data<long>())
                    picked.Add(new TokenLogprob((int)id, TokenText((int)id), (row[(int)id] - max) - logSum, []));
            }
            return new TokenLogprob(chosen, TokenText(chosen), (row[chosen] - max) - logSum, picked);
        }
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

    private string TokenText(int id) => _tokenizer.Decode([id]);
}
