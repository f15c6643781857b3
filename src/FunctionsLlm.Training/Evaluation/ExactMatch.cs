namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// Exact match: both texts with leading and trailing white space removed (<see cref="string.Trim()"/>), then compared
/// ordinally. Nothing else is normalised: inner white space, case, width and Unicode form all count.
/// </summary>
public static class ExactMatch
{
    public static bool Of(string candidate, string reference) =>
        string.Equals(candidate.Trim(), reference.Trim(), StringComparison.Ordinal);
}
