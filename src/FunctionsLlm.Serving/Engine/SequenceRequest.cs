using System.Diagnostics;
using System.Threading.Channels;
using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Engine;

/// <summary>One request inside the engine: queued, then owning a cache row until it finishes or is cancelled.</summary>
internal sealed class SequenceRequest(IReadOnlyList<int> promptIds, SamplingOptions options, int seed, ServedAdapter? adapter,
    CancellationToken cancellationToken, IEngineEvents? events = null)
{
    private readonly long _submittedAt = Stopwatch.GetTimestamp();
    private long _lastTokenAt;
    private readonly Channel<GenerationUpdate> _updates = Channel.CreateUnbounded<GenerationUpdate>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _logprobsSent;
    private int _ended;
    private CancellationTokenRegistration _registration;

    public IReadOnlyList<int> PromptIds { get; } = promptIds;

    public SamplingOptions Options { get; } = options;

    public int Seed { get; } = seed;

    /// <summary>The adapter it runs with; null for the bare base.</summary>
    public ServedAdapter? Adapter { get; } = adapter;

    /// <summary>The adapter slot its row uses once admitted, −1 for the base.</summary>
    public int Slot { get; set; } = -1;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Set once queued; disposed when the request ends, even when it ended before this was set.</summary>
    public CancellationTokenRegistration CancellationRegistration
    {
        get => _registration;
        set
        {
            _registration = value;
            if (Volatile.Read(ref _ended) != 0)
                value.Dispose();
        }
    }

    /// <summary>Created on the decode thread at prefill (<see cref="Start"/>).</summary>
    public GenerationSequence? Sequence { get; private set; }

    /// <summary>Begins generating: the sampler, stops and budget for this request's prompt, on the decode thread.</summary>
    public void Start(ServedModel model) =>
        Sequence = new GenerationSequence(model.Model, model.Tokenizer, Options, Seed, PromptIds, Options.MaxTokens);

    /// <summary>The token this row feeds at the next decode step.</summary>
    public long NextToken { get; private set; }

    public bool IsCancelled => CancellationToken.IsCancellationRequested;

    /// <summary>Finished, cancelled or failed: its row can be given to another request.</summary>
    public bool IsDone => Volatile.Read(ref _ended) != 0 || IsCancelled || (Sequence?.Finished ?? false);

    public GenerationStream Stream => new(_updates.Reader, _completion.Task, PromptIds.Count);

    /// <summary>
    /// Chooses the next token of each running request (started, not done) from its row of the last-position fp32 logits
    /// (requests, 1, vocab), all sampled together, then records each and publishes what it adds; returns how many.
    /// </summary>
    public static int ConsumeRunning(Tensor lastLogits, IReadOnlyList<SequenceRequest> requests)
    {
        int[] running = [.. Enumerable.Range(0, requests.Count).Where(i => requests[i].Sequence is not null && !requests[i].IsDone)];
        if (running.Length == 0)
            return 0;
        int[] ids = GenerationSequence.ChooseAt(lastLogits, running, [.. running.Select(i => requests[i].Sequence!)]);
        for (int k = 0; k < running.Length; k++)
            requests[running[k]].Consume(ids[k]);
        return running.Length;
    }

    private void Consume(int id)
    {
        var sequence = Sequence!;
        string text = sequence.Accept(id);
        NextToken = id;
        if (events is not null)
        {
            long now = Stopwatch.GetTimestamp();
            events.Token(Stopwatch.GetElapsedTime(_submittedAt, now), _lastTokenAt == 0 ? null : Stopwatch.GetElapsedTime(_lastTokenAt, now));
            _lastTokenAt = now;
        }
        var logprobs = sequence.Logprobs.Count > _logprobsSent ? sequence.Logprobs.Skip(_logprobsSent).ToArray() : [];
        _logprobsSent = sequence.Logprobs.Count;
        var result = sequence.Finished ? sequence.Result : null;
        if (text.Length > 0 || logprobs.Length > 0 || result is not null)
            _updates.Writer.TryWrite(new GenerationUpdate(text, logprobs, sequence.TokenIds.Count, result?.FinishReason));
        if (result is not null)
            End(() => _completion.TrySetResult(result), null, FinishReasons.Name(result.FinishReason));
    }

    /// <summary>Ends the request after its client went away.</summary>
    public void EndCancelled() =>
        End(() => _completion.TrySetCanceled(CancellationToken), new OperationCanceledException(CancellationToken), "abort");

    public void Fail(Exception error) => End(() => _completion.TrySetException(error), error, "error");

    private void End(Action complete, Exception? error, string reason)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
            return;
        events?.Finished(reason);
        CancellationRegistration.Dispose();
        _updates.Writer.TryComplete(error);
        complete();
    }
}
