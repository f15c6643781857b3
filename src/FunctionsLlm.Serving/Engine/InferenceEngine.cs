using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Serves one loaded model to many callers with continuous batching. Every torch operation runs on one decode
/// thread: it admits queued requests into free rows of a shared KV cache (each prompt prefilled alone), then decodes
/// one token for every live row per step, so a request that arrives mid-generation joins at the next step. Each
/// request keeps its own sampling settings, seed and stop conditions, and gets what it would get alone. Limits are
/// enforced at <see cref="Submit"/> with <see cref="EngineRejectedException"/>, never by queueing without bound.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly EngineOptions _options;
    private readonly LinkedList<SequenceRequest> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<SequenceRequest> _rows = [];
    private readonly KvCache _cache;
    private readonly Thread _loop;
    private volatile bool _stopping;
    private long _generatedTokens;

    /// <summary>Starts the decode thread. The engine owns <paramref name="model"/> and disposes it.</summary>
    public InferenceEngine(ServedModel model, EngineOptions? options = null)
    {
        _options = options ?? new EngineOptions();
        _options.Validate();
        Model = model;
        ContextLength = Math.Min(_options.ContextLength ?? Math.Min(model.Model.Config.MaxPositionEmbeddings, 4096),
            model.Model.Config.MaxPositionEmbeddings);
        _cache = model.Model.CreateCache(_options.MaxConcurrentSequences, ContextLength);
        _loop = new Thread(Run) { IsBackground = true, Name = $"flm-decode-{model.Name}" };
        _loop.Start();
    }

    public ServedModel Model { get; }

    public EngineOptions Options => _options;

    /// <summary>Positions per sequence: prompt plus completion.</summary>
    public int ContextLength { get; }

    public int ActiveSequences { get { lock (_queue) return _rows.Count; } }

    public int QueuedRequests { get { lock (_queue) return _queue.Count; } }

    /// <summary>The completion budget when a request sets none: what fits the context, at most the cap.</summary>
    public int DefaultMaxTokens(int promptTokens) => Math.Max(1, Math.Min(_options.MaxTokensCap, ContextLength - promptTokens));

    /// <summary>Tokens generated since start, over all requests.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>Where the engine reports requests and tokens (the slot's metrics once it is swapped in).</summary>
    internal IEngineEvents? Events { get; set; }

    /// <summary>
    /// Queues a generation of at most <see cref="SamplingOptions.MaxTokens"/> tokens after <paramref name="promptIds"/>.
    /// Cancelling <paramref name="cancellationToken"/> (e.g. the client disconnected) frees its row at the next step.
    /// </summary>
    /// <exception cref="EngineRejectedException">Invalid, too long, or no room in the queue.</exception>
    public GenerationStream Submit(IReadOnlyList<int> promptIds, SamplingOptions options, CancellationToken cancellationToken = default)
    {
        Check(promptIds, options);
        var request = new SequenceRequest(promptIds, options, options.Seed ?? Random.Shared.Next(), cancellationToken, Events);
        LinkedListNode<SequenceRequest> node;
        lock (_queue)
        {
            if (_stopping)
                throw new EngineRejectedException(EngineRejection.Unavailable, "the model is being unloaded; retry");
            if (_rows.Count + _queue.Count >= _options.MaxConcurrentSequences + _options.MaxQueuedRequests)
            {
                throw new EngineRejectedException(EngineRejection.Busy,
                    $"the server is busy ({_rows.Count} sequences decoding, {_queue.Count} waiting); retry after {_options.RetryAfterSeconds} s");
            }
            node = _queue.AddLast(request);
        }
        Events?.Admitted(promptIds.Count);
        request.CancellationRegistration = cancellationToken.Register(() =>
        {
            bool wasQueued;
            lock (_queue)
            {
                wasQueued = node.List is not null;
                if (wasQueued)
                    _queue.Remove(node);
            }
            if (wasQueued)
                request.EndCancelled();
            _wake.Release();
        });
        _wake.Release();
        return request.Stream;
    }

    private void Check(IReadOnlyList<int> promptIds, SamplingOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new EngineRejectedException(EngineRejection.InvalidRequest, e.Message);
        }
        if (promptIds.Count == 0)
            throw new EngineRejectedException(EngineRejection.InvalidRequest, "the prompt is empty", "prompt");
        long vocab = Model.Model.Config.VocabSize;
        foreach (int id in promptIds)
        {
            if (id < 0 || id >= vocab)
                throw new EngineRejectedException(EngineRejection.InvalidRequest, $"token id {id} is outside the vocabulary (0..{vocab - 1})", "prompt");
        }
        if (options.MaxTokens > _options.MaxTokensCap)
        {
            throw new EngineRejectedException(EngineRejection.InvalidRequest,
                $"max_tokens is too large: {options.MaxTokens}; this server allows at most {_options.MaxTokensCap}", "max_tokens");
        }
        if (promptIds.Count + options.MaxTokens > ContextLength)
        {
            throw new EngineRejectedException(EngineRejection.ContextLengthExceeded,
                $"this model's maximum context length is {ContextLength} tokens; you requested {promptIds.Count + options.MaxTokens} " +
                $"({promptIds.Count} in the prompt, {options.MaxTokens} for the completion)", promptIds.Count >= ContextLength ? "messages" : "max_tokens");
        }
    }

    private void Run()
    {
        using var noGrad = no_grad();
        while (!_stopping)
        {
            Admit();
            if (_rows.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            try
            {
                Step();
            }
            catch (Exception e)
            {
                // A failed step (e.g. out of memory) fails the sequences in it, not the server.
                foreach (var row in _rows)
                    row.Fail(new InvalidOperationException($"generation failed: {e.Message}", e));
                lock (_queue)
                    _rows.Clear();
                _cache.Reset();
            }
            Retire();
        }
        foreach (var row in _rows)
            row.Fail(new EngineRejectedException(EngineRejection.Unavailable, "the model was unloaded; retry"));
        lock (_queue)
        {
            foreach (var queued in _queue)
                queued.Fail(new EngineRejectedException(EngineRejection.Unavailable, "the model was unloaded; retry"));
            _queue.Clear();
            _rows.Clear();
        }
    }

    /// <summary>Moves waiting requests into free rows and prefills them, several prompts per forward pass.</summary>
    private void Admit()
    {
        while (true)
        {
            var group = new List<SequenceRequest>();
            int first;
            lock (_queue)
            {
                first = _rows.Count;
                while (_rows.Count < _options.MaxConcurrentSequences && _queue.First is { } next && FitsGroup(group, next.Value))
                {
                    group.Add(next.Value);
                    _queue.RemoveFirst();
                    _rows.Add(next.Value);
                }
            }
            if (group.Count == 0)
                return;
            try
            {
                Prefill(group, first);
            }
            catch (Exception e)
            {
                foreach (var request in group)
                    request.Fail(new InvalidOperationException($"generation failed: {e.Message}", e));
            }
            Retire();
        }
    }

    /// <summary>
    /// Prompts prefilled together are left-padded to the longest, and every row keeps that many positions, so each
    /// member's budget must still fit the context; the padded batch is also kept to a few thousand tokens.
    /// </summary>
    private bool FitsGroup(List<SequenceRequest> group, SequenceRequest candidate)
    {
        if (group.Count == 0)
            return true;
        int longest = Math.Max(group.Max(r => r.PromptIds.Count), candidate.PromptIds.Count);
        return (group.Count + 1) * longest <= MaxPrefillTokens
            && group.Append(candidate).All(r => longest + r.Options.MaxTokens <= ContextLength);
    }

    private const int MaxPrefillTokens = 4096;

    /// <summary>One forward pass over the group's left-padded prompts into rows [first, first + count).</summary>
    private void Prefill(List<SequenceRequest> group, int first)
    {
        var model = Model.Model;
        int longest = group.Max(r => r.PromptIds.Count);
        var ids = new long[group.Count * longest];
        var real = new bool[group.Count * longest];
        for (int g = 0; g < group.Count; g++)
        {
            var prompt = group[g].PromptIds;
            int padding = longest - prompt.Count;
            for (int i = 0; i < prompt.Count; i++)
            {
                ids[(g * longest) + padding + i] = prompt[i];
                real[(g * longest) + padding + i] = true;
            }
            _cache.ResetRow(first + g);
            if (!group[g].IsCancelled)
                group[g].Sequence = new GenerationSequence(model, Model.Tokenizer, group[g].Options, group[g].Seed, prompt, group[g].Options.MaxTokens);
        }
        using var scope = NewDisposeScope();
        using var rows = _cache.Rows(first, group.Count);
        var input = tensor(ids, [group.Count, longest], ScalarType.Int64);
        var mask = tensor(real, [group.Count, longest]);
        var logits = model.Forward(input, rows, mask, lastPositionOnly: true);
        for (int g = 0; g < group.Count; g++)
        {
            if (group[g].Sequence is null)
                continue;
            group[g].Consume(logits[g, 0]);
            Interlocked.Increment(ref _generatedTokens);
        }
    }

    private void Step()
    {
        using var scope = NewDisposeScope();
        int n = _rows.Count;
        using var live = _cache.Rows(0, n);
        var input = tensor(_rows.Select(r => r.NextToken).ToArray(), [n, 1], ScalarType.Int64);
        var logits = Model.Model.Forward(input, live, lastPositionOnly: true);
        for (int row = 0; row < n; row++)
        {
            if (_rows[row].IsDone)
                continue;
            _rows[row].Consume(logits[row, 0]);
            Interlocked.Increment(ref _generatedTokens);
        }
    }

    /// <summary>Ends finished and cancelled rows and moves the last live row into each freed one.</summary>
    private void Retire()
    {
        for (int row = _rows.Count - 1; row >= 0; row--)
        {
            var request = _rows[row];
            if (!request.IsDone)
                continue;
            if (request.IsCancelled)
                request.EndCancelled();
            int last = _rows.Count - 1;
            if (row != last)
                _cache.MoveRow(last, row);
            lock (_queue)
            {
                _rows[row] = _rows[last];
                _rows.RemoveAt(last);
            }
        }
    }

    /// <summary>Stops the decode thread; waiting and running requests end with <see cref="EngineRejection.Unavailable"/>.</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        _wake.Release();
        _loop.Join();
        _cache.Dispose();
        Model.Dispose();
    }
}
