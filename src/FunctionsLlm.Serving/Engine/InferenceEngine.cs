using System.Diagnostics;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Serves one loaded model to many callers with continuous batching. Every torch operation runs on one decode
/// thread: it admits queued requests into free rows of a shared KV cache (short prompts prefilled several per pass, a
/// long one in chunks between decode steps), then decodes one token for every live row per step, so a request that
/// arrives mid-generation joins at the next step. Each
/// request keeps its own sampling settings, seed and stop conditions, and gets what it would get alone. Limits are
/// enforced at <see cref="Submit(IReadOnlyList{int}, SamplingOptions, ServedAdapter?, CancellationToken)"/> with
/// <see cref="EngineRejectedException"/>, never by queueing without bound. Requests may name one of the
/// <see cref="Adapters"/>: adapters are served unmerged (<see cref="LoraSlots"/>), up to <see cref="EngineOptions.MaxLoras"/>
/// resident and loaded on demand, so rows for different adapters and for the base decode in the same batch.
/// </summary>
public sealed partial class InferenceEngine : IDisposable
{
    private readonly EngineOptions _options;
    private readonly LinkedList<SequenceRequest> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<SequenceRequest> _rows = [];
    private readonly KvCache _cache;
    private readonly AdapterResidency? _residency;   // the adapter slots; null when MaxLoras is 0
    private SequenceRequest? _chunked;   // a long prompt being prefilled chunk by chunk, in the row after the live ones
    private int _chunkedRow;
    private int _chunkedDone;
    private long _chunksWithSteps;
    private readonly ChunkPacer _pacer;
    private readonly Thread _loop;
    private volatile bool _stopping;
    private long _generatedTokens;

    /// <summary>Starts the decode thread. The engine owns <paramref name="model"/> and disposes it.</summary>
    public InferenceEngine(ServedModel model, EngineOptions? options = null)
    {
        _options = options ?? new EngineOptions();
        _options.Validate();
        _pacer = new ChunkPacer(_options);
        Model = model;
        ContextLength = Math.Min(_options.ContextLength ?? Math.Min(model.Model.Config.MaxPositionEmbeddings, 4096),
            model.Model.Config.MaxPositionEmbeddings);
        _cache = model.Model.CreateCache(_options.MaxConcurrentSequences, ContextLength);
        if (_options.MaxLoras > 0)
            _residency = new AdapterResidency(new LoraSlots(model.Model, _options.MaxLoras, _options.MaxLoraRank));
        _loop = new Thread(Run) { IsBackground = true, Name = $"flm-decode-{model.Name}" };
        _loop.Start();
    }

    public ServedModel Model { get; }

    public EngineOptions Options => _options;

    /// <summary>Positions per sequence: prompt plus completion.</summary>
    public int ContextLength { get; }

    /// <summary>
    /// Requests generating or being prefilled. A row whose request has finished counts no more, though the engine retires
    /// it only after its step: a client that got its answer and asks /health at once saw its own row still counted.
    /// </summary>
    public int ActiveSequences { get { lock (_queue) return _rows.Count(r => !r.IsDone) + (_chunked is { IsDone: false } ? 1 : 0); } }

    /// <summary>Cache rows in use: the live rows and the one being prefilled in chunks. Under the queue's lock.</summary>
    private int Occupied => _rows.Count + (_chunked is null ? 0 : 1);

    public int QueuedRequests { get { lock (_queue) return _queue.Count; } }

    /// <summary>The completion budget when a request sets none: what fits the context, at most the cap.</summary>
    public int DefaultMaxTokens(int promptTokens) => Math.Max(1, Math.Min(_options.MaxTokensCap, ContextLength - promptTokens));

    /// <summary>The adapters requests may name, resident or not.</summary>
    public AdapterCatalog Adapters { get; } = new();

    /// <summary>Adapters resident in the slots now.</summary>
    public int ResidentAdapters => _residency?.Resident ?? 0;

    /// <summary>Adapter loads into a slot since start (first loads and reloads after eviction).</summary>
    public int AdapterLoads => _residency?.Loads ?? 0;

    /// <summary>
    /// Makes the PEFT adapter in <paramref name="directory"/> servable as <paramref name="name"/>, after checking it fits
    /// the base and the slots (no weight is read: it loads when first used). With <paramref name="replace"/> it replaces
    /// an adapter of the same name; requests already running on that one finish on it.
    /// </summary>
    /// <exception cref="EngineRejectedException">Bad name, name taken, adapters switched off, or the adapter does not fit.</exception>
    public ServedAdapter AddAdapter(string name, string directory, string? source = null, string? version = null, bool replace = false)
    {
        if (_residency is null)
            throw new EngineRejectedException(EngineRejection.InvalidRequest, "this server serves no adapters (max loras is 0)");
        if (!AdapterCatalog.IsValidName(name) || name == Model.Name)
        {
            throw new EngineRejectedException(EngineRejection.InvalidRequest,
                $"'{name}' is not a valid adapter name: use letters, digits and ._- (at most 128), other than the base's name", "lora_name");
        }
        try
        {
            _residency.Check(directory);
        }
        catch (Exception e) when (e is LoraException or IOException or UnauthorizedAccessException or Modeling.Checkpoints.CheckpointException)
        {
            throw new EngineRejectedException(EngineRejection.InvalidRequest, $"adapter '{name}': {e.Message}", "lora_path");
        }
        var adapter = new ServedAdapter(name, directory, source ?? directory, version);
        if (!Adapters.Add(adapter, replace))
            throw new EngineRejectedException(EngineRejection.InvalidRequest, $"the adapter '{name}' has already been loaded", "lora_name");
        return adapter;
    }

    /// <summary>
    /// The adapter a request's <c>model</c> names: null for the base (or no model given), the adapter for
    /// <c>BASE:ADAPTER</c> or the adapter's own name.
    /// </summary>
    /// <exception cref="EngineRejectedException">Neither the base nor a known adapter (<see cref="EngineRejection.ModelNotFound"/>).</exception>
    public ServedAdapter? Resolve(string? model) => Adapters.Resolve(Model.Name, model);

    /// <summary>Tokens generated since start, over all requests.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>Chunks of long prompts that rode along with a decode step (<see cref="StepWithChunk"/>), for tests.</summary>
    internal long ChunksWithSteps => Interlocked.Read(ref _chunksWithSteps);

    /// <summary>Where the engine reports requests and tokens (the slot's metrics once it is swapped in).</summary>
    internal IEngineEvents? Events { get; set; }

    /// <summary>
    /// Queues a generation of at most <see cref="SamplingOptions.MaxTokens"/> tokens after <paramref name="promptIds"/>.
    /// Cancelling <paramref name="cancellationToken"/> (e.g. the client disconnected) frees its row at the next step.
    /// </summary>
    /// <exception cref="EngineRejectedException">Invalid, too long, or no room in the queue.</exception>
    public GenerationStream Submit(IReadOnlyList<int> promptIds, SamplingOptions options, CancellationToken cancellationToken = default) =>
        Submit(promptIds, options, null, cancellationToken);

    /// <summary>As <see cref="Submit(IReadOnlyList{int}, SamplingOptions, CancellationToken)"/>, with <paramref name="adapter"/>
    /// (from <see cref="Resolve"/>) over the base; a request for an adapter not resident waits for its load.</summary>
    public GenerationStream Submit(IReadOnlyList<int> promptIds, SamplingOptions options, ServedAdapter? adapter, CancellationToken cancellationToken = default)
    {
        Check(promptIds, options);
        if (adapter is not null && _residency is null)
            throw new EngineRejectedException(EngineRejection.InvalidRequest, "this server serves no adapters (max loras is 0)", "model");
        var request = new SequenceRequest(promptIds, options, options.Seed ?? Random.Shared.Next(), adapter, cancellationToken, Events);
        LinkedListNode<SequenceRequest> node;
        lock (_queue)
        {
            if (_stopping)
                throw new EngineRejectedException(EngineRejection.Unavailable, "the model is being unloaded; retry");
            if (Occupied + _queue.Count >= _options.MaxConcurrentSequences + _options.MaxQueuedRequests)
            {
                throw new EngineRejectedException(EngineRejection.Busy,
                    $"the server is busy ({Occupied} sequences decoding, {_queue.Count} waiting); retry after {_options.RetryAfterSeconds} s");
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
            if (_rows.Count == 0 && _chunked is null)
            {
                _wake.Wait();
                continue;
            }
            try
            {
                bool chunkRode = _rows.Count > 0 && _chunked is not null && StepWithChunk();
                if (_rows.Count > 0 && !chunkRode)
                    Step();
                if (_chunked is not null && !chunkRode)
                    PrefillChunk();
            }
            catch (Exception e)
            {
                // A failed step (e.g. out of memory) fails the sequences in it, not the server.
                foreach (var row in Occupants)
                {
                    row.Fail(new InvalidOperationException($"generation failed: {e.Message}", e));
                    Release(row);
                }
                lock (_queue)
                {
                    _rows.Clear();
                    _chunked = null;
                }
                _cache.Reset();
            }
            Retire();
        }
        foreach (var row in Occupants)
            row.Fail(new EngineRejectedException(EngineRejection.Unavailable, "the model was unloaded; retry"));
        lock (_queue)
        {
            foreach (var queued in _queue)
                queued.Fail(new EngineRejectedException(EngineRejection.Unavailable, "the model was unloaded; retry"));
            _queue.Clear();
            _rows.Clear();
            _chunked = null;
        }
    }

    /// <summary>
    /// Moves waiting requests into free rows and prefills them, several prompts per forward pass. A request whose adapter
    /// cannot get a slot (every slot in use by running rows) keeps its place; later requests for the base go ahead, later
    /// adapter requests wait behind it, so the slots drain and it gets one.
    /// </summary>
    private void Admit()
    {
        while (_chunked is null)
        {
            var group = new List<SequenceRequest>();
            var loads = new List<int>();
            int first;
            lock (_queue)
            {
                first = _rows.Count;
                bool slotWanted = false;
                for (var node = _queue.First; node is not null && _rows.Count < _options.MaxConcurrentSequences && FitsGroup(group, node.Value);)
                {
                    var next = node.Next;
                    bool chunked = node.Value.PromptIds.Count > _options.PrefillChunkTokens;
                    if (chunked && group.Count > 0)
                        break;   // the group first; the long prompt at the next look
                    // Once a request waits for a slot, later adapter requests wait behind it: admitting them would keep
                    // their slots busy and could starve it. Requests for the base still go ahead.
                    bool placed = node.Value.Adapter is null || (!slotWanted && _residency!.Place(node.Value, loads));
                    slotWanted |= !placed;
                    if (placed)
                    {
                        _queue.Remove(node);
                        if (chunked)
                        {
                            // Its own row after the live ones; no other request is admitted until it is prefilled.
                            (_chunked, _chunkedRow, _chunkedDone) = (node.Value, _rows.Count, 0);
                            group.Add(node.Value);
                            break;
                        }
                        group.Add(node.Value);
                        _rows.Add(node.Value);
                    }
                    node = next;
                }
            }
            if (_chunked is not null)
            {
                _residency?.Load(group, loads);
                return;
            }
            if (group.Count == 0)
                return;
            try
            {
                _residency?.Load(group, loads);
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
            if (!group[g].IsDone)
                group[g].Start(Model);
        }
        using var scope = NewDisposeScope();
        using var rows = _cache.Rows(first, group.Count);
        var input = tensor(ids, [group.Count, longest], ScalarType.Int64);
        var mask = tensor(real, [group.Count, longest]);
        Tensor logits;
        long started = Stopwatch.GetTimestamp();
        using (_residency?.Select(group))
            logits = model.Forward(input, rows, mask, lastPositionOnly: true);
        _pacer.Prefilled(group.Count * longest, Stopwatch.GetElapsedTime(started));
        Interlocked.Add(ref _generatedTokens, SequenceRequest.ConsumeRunning(logits, group));
    }

    private void Step()
    {
        using var scope = NewDisposeScope();
        int n = _rows.Count;
        using var live = _cache.Rows(0, n);
        var input = tensor(_rows.Select(r => r.NextToken).ToArray(), [n, 1], ScalarType.Int64);
        Tensor logits;
        long started = Stopwatch.GetTimestamp();
        using (_residency?.Select(_rows))
            logits = Model.Model.Forward(input, live, lastPositionOnly: true);
        Interlocked.Add(ref _generatedTokens, SequenceRequest.ConsumeRunning(logits, _rows));
        _pacer.Stepped(Stopwatch.GetElapsedTime(started));
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
            Release(request);
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

    private void Release(SequenceRequest request) => _residency?.Release(request);

    /// <summary>The requests holding a cache row: the live ones and the one prefilled in chunks.</summary>
    private List<SequenceRequest> Occupants => _chunked is null ? _rows : [.. _rows, _chunked];

    /// <summary>Stops the decode thread; waiting and running requests end with <see cref="EngineRejection.Unavailable"/>.</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        _wake.Release();
        _loop.Join();
        _cache.Dispose();
        _residency?.Dispose();
        Model.Dispose();
    }
}
