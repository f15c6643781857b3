using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Serving.Engine;

/// <summary>How a finished generation is named on the wire (OpenAI's finish_reason) and in the metrics.</summary>
public static class FinishReasons
{
    public static string Name(FinishReason reason) => reason == FinishReason.Length ? "length" : "stop";
}
