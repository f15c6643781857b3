namespace FunctionsLlm.Serving.OpenAi;

/// <summary>A request the API refuses before it reaches the engine; becomes OpenAI's error object with this status.</summary>
public sealed class OpenAiRequestException(string message, string? param = null, int status = 400, string? code = null) : Exception(message)
{
    public string? Param { get; } = param;

    public int Status { get; } = status;

    public string? Code { get; } = code;
}
