using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>Picks next tokens for one sequence from fp32 logits (vocab), remembering what it has seen.</summary>
internal sealed class TokenSampler : IDisposable
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private readonly Tensor? _seen; // (vocab) bool, only with a repetition penalty

    public TokenSampler(SamplingOptions options, int seed, long vocabSize, Device device, IEnumerable<int> promptIds)
    {
        _options = options;
        _random = new Random(seed);
        if (options.RepetitionPenalty != 1.0)
        {
            _seen = zeros(vocabSize, ScalarType.Bool, device).DetachFromDisposeScope();
            foreach (int id in promptIds)
                Remember(id);
        }
    }

    public int Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        if (_seen is not null)
        {
            using var penalty = ((float)_options.RepetitionPenalty).ToScalar();
            var penalised = where(logits.gt(Zero), logits.div(penalty), logits.mul(penalty));
            logits = where(_seen, penalised, logits);
        }
        if (_options.IsGreedy)
            return (int)logits.argmax().item<long>();

        using var temperature = _options.Temperature.ToScalar();
        var scaled = logits.div(temperature);
        var (values, indices) = _options.TopK > 0 && _options.TopK < scaled.shape[0]
            ? scaled.topk(_options.TopK)
            : scaled.sort(descending: true, stable: true);
        var probabilities = values.softmax(0);
        long kept = probabilities.shape[0];
        if (_options.TopP < 1)
        {
            // Keep a token while the mass before it is below top-p: the smallest set reaching top-p, at least one.
            using var topP = _options.TopP.ToScalar();
            var before = probabilities.cumsum(0) - probabilities;
            kept = Math.Max(1, before.lt(topP).sum().item<long>());
        }
        float[] mass = probabilities.narrow(0, 0, kept).cpu().data<float>().ToArray();
        double draw = _random.NextDouble() * mass.Sum(m => (double)m);
        int pick = 0;
        for (double cumulative = mass[0]; cumulative <= draw && pick < mass.Length - 1; cumulative += mass[++pick])
        {
        }
        return (int)indices[pick].item<long>();
    }

    public void Remember(int id)
    {
        if (_seen is not null && id >= 0 && id < _seen.shape[0])
        {
            using var seen = _seen[id];
            seen.fill_(True);
        }
    }

    public void Dispose() => _seen?.Dispose();
}
