using Prometheus;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// The serving metrics in Prometheus' text format, with vLLM's names (<c>vllm:X</c> is <c>flm_X</c>: prometheus-net
/// allows no colons), so its dashboards carry over with a rename: requests running and waiting, prompt and generation
/// tokens, time to first token and inter-token latency, KV-cache rows in use, finished requests by reason, and the
/// model loaded. One per <see cref="EngineSlot"/>: counters run on across model swaps. Own registry, so servers in one
/// process do not mix.
/// </summary>
public sealed class EngineMetrics : IEngineEvents
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly Gauge _running;
    private readonly Gauge _waiting;
    private readonly Gauge _cacheUsage;
    private readonly Gauge _model;
    private readonly Gauge _adapters;
    private readonly Gauge _residentAdapters;
    private readonly Gauge _adapterLoads;
    private readonly Counter _promptTokens;
    private readonly Counter _generationTokens;
    private readonly Counter _finished;
    private readonly Histogram _timeToFirstToken;
    private readonly Histogram _interTokenLatency;
    private readonly Lock _sampling = new();
    private string? _modelShown;

    public EngineMetrics(EngineSlot slot)
    {
        var metrics = Metrics.WithCustomRegistry(_registry);
        _running = metrics.CreateGauge("flm_num_requests_running", "Requests decoding (holding a KV-cache row).");
        _waiting = metrics.CreateGauge("flm_num_requests_waiting", "Requests queued for a row.");
        _cacheUsage = metrics.CreateGauge("flm_kv_cache_usage_perc", "Share of KV-cache rows in use, 0 to 1.");
        _model = metrics.CreateGauge("flm_model_info", "The model being served (1 for the loaded one).", "model_name");
        _adapters = metrics.CreateGauge("flm_lora_adapters", "Adapters that requests may name (multi-LoRA).");
        _residentAdapters = metrics.CreateGauge("flm_lora_resident_adapters", "Adapters resident in the engine's slots.");
        _adapterLoads = metrics.CreateGauge("flm_lora_loads", "Adapter loads into a slot by the current engine (first loads and reloads after eviction).");
        _promptTokens = metrics.CreateCounter("flm_prompt_tokens_total", "Prompt tokens of accepted requests.");
        _generationTokens = metrics.CreateCounter("flm_generation_tokens_total", "Tokens generated.");
        _finished = metrics.CreateCounter("flm_request_success_total", "Requests ended, by reason: stop, length, abort, error.", "finished_reason");
        _timeToFirstToken = metrics.CreateHistogram("flm_time_to_first_token_seconds", "From acceptance to the first token.",
            new HistogramConfiguration { Buckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80] });
        _interTokenLatency = metrics.CreateHistogram("flm_inter_token_latency_seconds", "Between two tokens of one request.",
            new HistogramConfiguration { Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5] });
        _registry.AddBeforeCollectCallback(() => Sample(slot.Current));
    }

    public void Admitted(int promptTokens) => _promptTokens.Inc(promptTokens);

    public void Token(TimeSpan sinceSubmit, TimeSpan? sinceLastToken)
    {
        _generationTokens.Inc();
        if (sinceLastToken is { } gap)
            _interTokenLatency.Observe(gap.TotalSeconds);
        else
            _timeToFirstToken.Observe(sinceSubmit.TotalSeconds);
    }

    public void Finished(string reason) => _finished.WithLabels(reason).Inc();

    /// <summary>Writes every metric in Prometheus' text exposition format (version 0.0.4).</summary>
    public Task WriteAsync(Stream destination, CancellationToken cancellationToken = default) =>
        _registry.CollectAndExportAsTextAsync(destination, cancellationToken);

    private void Sample(InferenceEngine? engine)
    {
        lock (_sampling)
            SampleLocked(engine);
    }

    private void SampleLocked(InferenceEngine? engine)
    {
        int running = engine?.ActiveSequences ?? 0;
        _running.Set(running);
        _waiting.Set(engine?.QueuedRequests ?? 0);
        _cacheUsage.Set(engine is null ? 0 : (double)running / engine.Options.MaxConcurrentSequences);
        _adapters.Set(engine?.Adapters.All.Count ?? 0);
        _residentAdapters.Set(engine?.ResidentAdapters ?? 0);
        _adapterLoads.Set(engine?.AdapterLoads ?? 0);
        string? shown = engine?.Model.Name;
        if (shown != _modelShown)
        {
            if (_modelShown is not null)
                _model.RemoveLabelled(_modelShown);
            if (shown is not null)
                _model.WithLabels(shown).Set(1);
            _modelShown = shown;
        }
    }
}
