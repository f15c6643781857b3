namespace FunctionsLlm.Serving.Engine;

/// <summary>Why the engine refused a request: the client's fault (4xx) or a temporary lack of capacity (429/503).</summary>
public enum EngineRejection
{
    /// <summary>The request is malformed or out of range (400).</summary>
    InvalidRequest,

    /// <summary>Prompt plus completion do not fit the context, or the prompt alone is over the limit (400).</summary>
    ContextLengthExceeded,

    /// <summary>The <c>model</c> asked for is neither the base nor one of its adapters (404).</summary>
    ModelNotFound,

    /// <summary>Every row is decoding and the queue is full (429, retry later).</summary>
    Busy,

    /// <summary>The engine is stopping or was replaced (503, retry later).</summary>
    Unavailable,
}

/// <summary>A request the engine will not run; <see cref="Message"/> is written for the client.</summary>
public sealed class EngineRejectedException(EngineRejection reason, string message, string? param = null) : Exception(message)
{
    public EngineRejection Reason { get; } = reason;

    /// <summary>The request parameter at fault, when one is (OpenAI's <c>error.param</c>).</summary>
    public string? Param { get; } = param;
}
