namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Sizes the chunks of a long prompt from measured times, so that a decode step followed by a chunk takes about
/// 1 + <see cref="EngineOptions.PrefillChunkStall"/> steps: the running sequences' inter-token gaps stay bounded
/// whatever the model, the hardware or the number of rows. Chunks are at least <see cref="MinimumTokens"/> (the prompt
/// always progresses) and at most <see cref="EngineOptions.PrefillChunkTokens"/>.
/// </summary>
internal sealed class ChunkPacer(EngineOptions options)
{
    public const int MinimumTokens = 8;
    private const double Weight = 0.3;   // of the newest measurement in the moving averages

    private double _stepSeconds;
    private double _secondsPerPrefillToken;

    /// <summary>A decode step of the running rows took <paramref name="elapsed"/>.</summary>
    public void Stepped(TimeSpan elapsed) => _stepSeconds = Average(_stepSeconds, elapsed.TotalSeconds);

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

    private static double Average(double average, double sample) => average == 0 ? sample : average + (Weight * (sample - average));
}
