namespace FunctionsLlm.Data.Reading;

/// <summary>What the first bytes of an input say it is.</summary>
public enum InputKind
{
    Empty,
    JsonArray,
    JsonLines,
}
