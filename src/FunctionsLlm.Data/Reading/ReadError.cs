namespace FunctionsLlm.Data.Reading;

/// <summary>Why reading stopped before the end of the input (a broken JSON array), and where.</summary>
public sealed record ReadError(long Line, long Column, string Message)
{
    public override string ToString() => $"line {Line}, column {Column}: {Message}";
}
