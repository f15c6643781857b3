namespace FunctionsLlm.Serving.Engine;

/// <summary>What an engine reports while it serves, for metrics. Called on the engine's decode thread: keep it cheap.</summary>
public interface IEngineEvents
{
    /// <summary>A request was accepted into the queue.</summary>
    void Admitted(int promptTokens);

    /// <summary>A request got a token: its first (<paramref name="sinceLastToken"/> null) or a later one.</summary>
    void Token(TimeSpan sinceSubmit, TimeSpan? sinceLastToken);

    /// <summary>A request ended: <c>stop</c>, <c>length</c>, <c>abort</c> (its client went away) or <c>error</c>.</summary>
    void Finished(string reason);
}
