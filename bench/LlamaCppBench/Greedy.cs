namespace FunctionsLlm.Bench;

/// <summary>Greedy choice over one position's logits, as both engines' greedy lines take it.</summary>
internal static class Greedy
{
    /// <summary>The index of the largest value (the first of equal ones).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
                best = i;
        }
        return best;
    }
}
