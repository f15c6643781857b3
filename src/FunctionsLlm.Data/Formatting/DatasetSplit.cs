namespace FunctionsLlm.Data.Formatting;

/// <summary>Train/eval assignment from the content fingerprint: the same record lands in the same split on every run, whatever the order.</summary>
public static class DatasetSplit
{
    public static bool IsEval(ulong fingerprint, double evalFraction) =>
        evalFraction > 0 && (double)fingerprint / ulong.MaxValue < evalFraction;
}
