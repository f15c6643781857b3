using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.Tests.Engine;

/// <summary>
/// The order in which the engine ended the requests it was given, as its decode thread saw it. The completions' own
/// order is not that: their continuations run on the thread pool, which under a busy test run gets to them late and in
/// any order. A request's completion is set right after its <see cref="IEngineEvents.Finished"/>, so at each end the
/// requests already completed are exactly the ones that ended before it.
/// </summary>
internal sealed class EndOrder : IEngineEvents
{
    private readonly List<(string Label, GenerationStream Stream)> _submitted = [];
    private readonly List<string> _ended = [];

    /// <summary>
    /// Submits through <paramref name="submit"/> under the lock the ends take, so no request can end before it is
    /// known here. (The engine's decode thread calls <see cref="Finished"/> outside its queue's lock.)
    /// </summary>
    public GenerationStream Submit(string label, Func<GenerationStream> submit)
    {
        lock (_submitted)
        {
            var stream = submit();
            _submitted.Add((label, stream));
            return stream;
        }
    }

    /// <summary>The labels in the order their requests ended; call once every request has completed.</summary>
    public IReadOnlyList<string> Labels()
    {
        lock (_submitted)
        {
            NoteCompleted();
            return [.. _ended];
        }
    }

    public void Finished(string reason)
    {
        lock (_submitted)
            NoteCompleted();
    }

    public void Admitted(int promptTokens)
    {
    }

    public void Token(TimeSpan sinceSubmit, TimeSpan? sinceLastToken)
    {
    }

    private void NoteCompleted()
    {
        foreach (var (label, stream) in _submitted)
        {
            if (stream.Completion.IsCompleted && !_ended.Contains(label))
                _ended.Add(label);
        }
    }
}
