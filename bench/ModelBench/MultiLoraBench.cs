using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// Multi-LoRA serving (issue 20): N streams spread over K adapters served unmerged over one base, against N streams on
/// one merged model (the adapter folded in), alternately three times; and the time to first token of a request whose adapter
/// is not resident (loaded from disk into a slot first) against one whose adapter is.
/// </summary>
internal static class MultiLoraBench
{
    public static async Task RunAsync(string dir, int streams, int adapters, int promptTokens, int decodeTokens, int threads, int rank)
    {
        ServeBench.BorrowTokenizer(dir);
        set_num_threads(threads);
        string work = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, $"{Path.GetFileName(dir)}-lora-r{rank}");
        var adapterDirs = Enumerable.Range(0, adapters).Select(i => Path.Combine(work, $"adapter-{i}")).ToArray();
        string merged = Path.Combine(work, "merged-0");
        var config = new LoraConfig { R = rank, LoraAlpha = 2 * rank };
        for (int i = 0; i < adapters; i++)
        {
            if (!File.Exists(Path.Combine(adapterDirs[i], PeftAdapter.WeightsFileName)))
                WriteAdapter(dir, adapterDirs[i], config, seed: 100 + i);
        }
        if (!File.Exists(Path.Combine(merged, "config.json")))
            LoraMerger.Merge(dir, adapterDirs[0], merged);

        var options = new EngineOptions
        {
            MaxConcurrentSequences = streams, ContextLength = promptTokens + decodeTokens + 8, MaxTokensCap = decodeTokens,
            MaxLoras = adapters, MaxLoraRank = rank,
        };
        var greedy = SamplingOptions.Greedy with { StopTokenIds = [] };
        var load = new ModelLoadOptions(CPU, ScalarType.Float32);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model {dir}: {threads} threads, {streams} streams, prompt {promptTokens} tokens, {decodeTokens} generated per stream; {adapters} adapters of rank {rank} on {string.Join(", ", config.TargetModules)}"));
        for (int round = 0; round < 3; round++)
        {
            using (var engine = new InferenceEngine(ServedModel.Load(merged, "merged", load), options))
            {
                await ServeBench.Measure(engine, 1, promptTokens, 8, greedy);   // warm-up
                var one = await ServeBench.Measure(engine, streams, promptTokens, decodeTokens, greedy);
                Report($"merged model, {streams} streams", one);
            }
            using (var engine = new InferenceEngine(ServedModel.Load(dir, "base", load), options))
            {
                var served = adapterDirs.Select((d, i) => engine.AddAdapter($"a{i}", d)).ToArray();
                await ServeBench.Measure(engine, adapters, promptTokens, 8, greedy, i => served[i]);   // warm-up, every adapter loaded
                var many = await ServeBench.Measure(engine, streams, promptTokens, decodeTokens, greedy, i => served[i % adapters]);
                Report($"{adapters} adapters, {streams} streams", many);
            }
        }

        // Time to first token alone: an adapter not resident (its files read into a slot first) and then resident.
        using (var engine = new InferenceEngine(ServedModel.Load(dir, "base", load), options with { MaxLoras = 1 }))
        {
            var served = adapterDirs.Take(2).Select((d, i) => engine.AddAdapter($"a{i}", d)).ToArray();
            await FirstTokenAsync(engine, null, promptTokens, greedy);   // warm-up
            foreach (var (adapter, what) in new[] { (served[0], "not resident"), (served[0], "resident"), (served[1], "not resident (evicts the other)"), (served[1], "resident") })
            {
                double seconds = await FirstTokenAsync(engine, adapter, promptTokens, greedy);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time to first token, adapter {what}: {seconds * 1000:F0} ms"));
            }
            double baseSeconds = await FirstTokenAsync(engine, null, promptTokens, greedy);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time to first token, the base: {baseSeconds * 1000:F0} ms"));
        }
    }

    private static void Report(string what, (double FirstToken, double DecodeRate, double Aggregate, double Wall, double SteadyAggregate) r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: time to first token {r.FirstToken * 1000:F0} ms (mean), aggregate {r.Aggregate:F1} tokens/s with the prefills, {r.SteadyAggregate:F1} tokens/s decoding together"));

    private static async Task<double> FirstTokenAsync(InferenceEngine engine, ServedAdapter? adapter, int promptTokens, SamplingOptions greedy)
    {
        var clock = Stopwatch.StartNew();
        await engine.Submit(ServeBench.Prompt(7, promptTokens, engine), greedy with { MaxTokens = 1 }, adapter).Completion;
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>An adapter with PEFT's initialisation and B drawn too (B = 0 would be the base), saved in PEFT's layout.</summary>
    private static void WriteAdapter(string baseDir, string adapterDir, LoraConfig config, int seed)
    {
        using var model = ModelLoader.Load(baseDir, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var generator = new Generator((ulong)seed);
        LoraInjector.Inject(model, config, generator);
        using (no_grad())
        {
            foreach (var layer in LoraInjector.LinearLayers(model).Values.Where(l => l.lora_B is not null))
                layer.lora_B!.weight.normal_(0, 0.01, generator);
        }
        PeftAdapter.Save(model, config, adapterDir);
    }
}
