namespace FunctionsLlm.Serving.Engine;

/// <summary>Limits of one <see cref="InferenceEngine"/>; requests beyond them are refused, never queued without bound.</summary>
public sealed record EngineOptions
{
    /// <summary>Sequences decoded together (rows of the KV cache).</summary>
    public int MaxConcurrentSequences { get; init; } = 8;

    /// <summary>Requests that may wait for a free row; beyond rows plus these, requests are refused with <see cref="EngineRejection.Busy"/>.</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>Positions per sequence (prompt + completion); null means the model's max_position_embeddings, at most 4096.</summary>
    public int? ContextLength { get; init; }

    /// <summary>The most completion tokens one request may ask for.</summary>
    public int MaxTokensCap { get; init; } = 2048;

    /// <summary>
    /// A prompt longer than this is prefilled in chunks of at most this many tokens, one chunk between two decode steps,
    /// so the sequences decoding meanwhile are not stalled for the whole prompt (chunked prefill; once none is decoding,
    /// the rest goes in one pass). Shorter prompts are prefilled in one pass, several together. Smaller chunks stall the
    /// others less and make the long prompt's first token later (bench/README.md, "Chunked prefill").
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 128;

    /// <summary>
    /// How long one chunk may take, in decode steps of the running sequences: chunks are sized from measured times so
    /// their inter-token gaps stay within about 1 + this many steps (at least 8 tokens a chunk). 0 gives every chunk
    /// <see cref="PrefillChunkTokens"/>. 0.75 keeps the running streams' p99 gap under 3× their median on a busy 2-core
    /// host, where 1 put it at 2.7–3.2× (bench/README.md, "Chunked prefill").
    /// </summary>
    public double PrefillChunkStall { get; init; } = 0.75;

    /// <summary>Adapters resident at once for unmerged multi-LoRA serving (vLLM's --max-loras); 0 serves the base only.</summary>
    public int MaxLoras { get; init; } = 4;

    /// <summary>
    /// The largest adapter rank served (vLLM's --max-lora-rank). Each adapted layer holds MaxLoras × MaxLoraRank × (in + out)
    /// fp32 values, allocated when an adapter first adapts it.
    /// </summary>
    public int MaxLoraRank { get; init; } = 64;

    /// <summary>Seconds a refused client is told to wait (Retry-After).</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    public void Validate()
    {
        if (MaxConcurrentSequences < 1)
            throw new ArgumentException($"max concurrent sequences must be at least 1, got {MaxConcurrentSequences}");
        if (MaxQueuedRequests < 0)
            throw new ArgumentException($"max queued requests must be at least 0, got {MaxQueuedRequests}");
        if (ContextLength is < 2)
            throw new ArgumentException($"context length must be at least 2, got {ContextLength}");
        if (PrefillChunkTokens < 16)
            throw new ArgumentException($"prefill chunk tokens must be at least 16, got {PrefillChunkTokens}");
        if (!(PrefillChunkStall >= 0) || double.IsInfinity(PrefillChunkStall))
            throw new ArgumentException($"prefill chunk stall must be ≥ 0, got {PrefillChunkStall}");
        if (MaxLoras < 0)
            throw new ArgumentException($"max loras must be at least 0, got {MaxLoras}");
        if (MaxLoraRank < 1)
            throw new ArgumentException($"max lora rank must be at least 1, got {MaxLoraRank}");
        if (MaxTokensCap < 1)
            throw new ArgumentException($"max tokens cap must be at least 1, got {MaxTokensCap}");
    }
}
