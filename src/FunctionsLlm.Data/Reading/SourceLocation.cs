namespace FunctionsLlm.Data.Reading;

/// <summary>Where a record starts in the user's file: 1-based line and column, plus the 0-based element index in a JSON array.</summary>
public readonly record struct SourceLocation(long Line, long Column, long? Index)
{
    public override string ToString() =>
        Index is { } index ? $"record {index} (line {Line}, column {Column})" : $"line {Line}";
}
