namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Sizes the chunks of a long prompt from measured times, so that a decode step with its chunk takes about
/// 1 + <see cref="EngineOptions.PrefillChunkStall"/> steps: the running sequences' inter-token gaps stay bounded
/// whatever the model, the hardware or the number of rows. A chunk that rides along with the step in one pass
/// (<see cref="NextRiddenChunk"/>) is sized by what its tokens add to the step, from one token up; a chunk in a pass of its
/// own (<see cref="NextChunk"/>) by the prefill time per token, at least <see cref="MinimumTokens"/> (the pass reads every
/// weight, so it must carry enough to be worth it). Both at most <see cref="EngineOptions.PrefillChunkTokens"/>.
/// </summary>
internal sealed class ChunkPacer(EngineOptions options)
{
    public const int MinimumTokens = 8;
    private const double Weight = 0.3;   // of the newest measurement in the moving averages

    // A decode step's time is the median of the latest plain steps, not a moving average: no plain step runs while a
    // prompt's chunks ride along, so one slow step just before the prompt (a collection, a busy host) would otherwise
    // size every chunk of it.
    private readonly double[] _recentSteps = new double[15];
    private int _recentCount, _nextStep;
    private double _stepSeconds;
    private double _secondsPerPrefillToken;
    private double _secondsPerRiddenToken;   // what a prompt token adds to a decode step it rides along with

    /// <summary>A decode step of the running rows took <paramref name="elapsed"/>.</summary>
    public void Stepped(TimeSpan elapsed)
    {
        _recentSteps[_nextStep] = elapsed.TotalSeconds;
        _nextStep = (_nextStep + 1) % _recentSteps.Length;
        _recentCount = Math.Min(_recentCount + 1, _recentSteps.Length);
        Span<double> recent = stackalloc double[_recentCount];
        _recentSteps.AsSpan(0, recent.Length).CopyTo(recent);
        recent.Sort();
        _stepSeconds = recent[recent.Length / 2];
    }

    /// <summary>A prefill pass over <paramref name="tokens"/> positions took <paramref name="elapsed"/>.</summary>
    public void Prefilled(int tokens, TimeSpan elapsed) =>
        _secondsPerPrefillToken = Average(_secondsPerPrefillToken, elapsed.TotalSeconds / Math.Max(1, tokens));

    /// <summary>The tokens of the next chunk, <paramref name="rest"/> being what is left of the prompt.</summary>
    public int NextChunk(int rest, bool othersDecoding)
    {
        if (!othersDecoding)
            return rest;   // no one to keep waiting: the rest in one pass
        int cap = options.PrefillChunkTokens;
        if (options.PrefillChunkStall > 0)
        {
            double fits = _stepSeconds > 0 && _secondsPerPrefillToken > 0
                ? options.PrefillChunkStall * _stepSeconds / _secondsPerPrefillToken
                : MinimumTokens;
            cap = (int)Math.Clamp(fits, MinimumTokens, cap);
        }
        return Math.Min(cap, rest);
    }

    /// <summary>A decode step that carried <paramref name="tokens"/> of a prompt took <paramref name="elapsed"/>.</summary>
    public void SteppedWithChunk(int tokens, TimeSpan elapsed) =>
        _secondsPerRiddenToken = Average(_secondsPerRiddenToken, Math.Max(1e-6, elapsed.TotalSeconds - _stepSeconds) / Math.Max(1, tokens));

    /// <summary>
    /// The tokens of the next chunk to ride along with a decode step, at most <paramref name="room"/>: about
    /// <see cref="EngineOptions.PrefillChunkStall"/> steps' worth of extra time. From one token up, since a token that
    /// rides along costs only its own compute, with no pass of its own to amortize.
    /// </summary>
    public int NextRiddenChunk(int rest, int room)
    {
        int cap = Math.Min(room, options.PrefillChunkTokens);
        double fits = _stepSeconds > 0 && _secondsPerRiddenToken > 0 ? options.PrefillChunkStall * _stepSeconds / _secondsPerRiddenToken : 1;
        return Math.Min(rest, (int)Math.Clamp(fits, 1, cap));
    }

    private static double Average(double average, double sample) => average == 0 ? sample : average + (Weight * (sample - average));
}
