namespace FunctionsLlm.Data.Formatting;

/// <summary>Train/eval assignment from the content fingerprint: the same record lands in the same split on every run, whatever the order.</summary>
public static class DatasetSplit
{
    public static bool IsEval(UInt128 fingerprint, double evalFraction) =>
        evalFraction > 0 && (double)(ulong)(fingerprint >> 64) / ulong.MaxValue < evalFraction;
}
