using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// The serving engine on a model folder: cold start to first token, single-stream decode, and aggregate throughput
/// with N concurrent streams (continuous batching), in alternating rounds. Greedy, no stop tokens, so every stream runs
/// to its budget.
/// </summary>
internal static class ServeBench
{
    public static async Task RunAsync(string dir, int streams, int promptTokens, int decodeTokens, int threads)
    {
        BorrowTokenizer(dir);
        set_num_threads(threads);
        var options = new EngineOptions { MaxConcurrentSequences = streams, ContextLength = promptTokens + decodeTokens + 8, MaxTokensCap = decodeTokens };
        var greedy = SamplingOptions.Greedy with { StopTokenIds = [] };

        var clock = Stopwatch.StartNew();
        using var engine = new InferenceEngine(ServedModel.Load(dir, "bench", new ModelLoadOptions(CPU, ScalarType.Float32)), options);
        double loaded = clock.Elapsed.TotalSeconds;
        await engine.Submit(Prompt(0, promptTokens, engine), greedy with { MaxTokens = 1 }).Completion;
        double coldFirstToken = clock.Elapsed.TotalSeconds;
        await Measure(engine, 1, promptTokens, 8, greedy); // warm-up

        // One stream and the N streams in alternating rounds, each ratio from its own round: the host's speed drifts from
        // one minute to the next, and a single stream measured a minute apart from the N moved the ratio by ±15%.
        var singles = new List<(double FirstToken, double DecodeRate, double Aggregate, double Wall, double SteadyAggregate)>();
        var manys = new List<(double FirstToken, double DecodeRate, double Aggregate, double Wall, double SteadyAggregate)>();
        var faults = new List<double>();   // the process's first-touch page faults in each round of N streams
        for (int round = 0; round < Rounds; round++)
        {
            singles.Add(await Measure(engine, 1, promptTokens, decodeTokens, greedy));
            long before = MinorFaults();
            manys.Add(await Measure(engine, streams, promptTokens, decodeTokens, greedy));
            faults.Add(MinorFaults() - before);
        }
        var ratios = manys.Select((m, i) => m.Aggregate / singles[i].DecodeRate).ToList();
        var steadyRatios = manys.Select((m, i) => m.SteadyAggregate / singles[i].DecodeRate).ToList();
        string Span(IEnumerable<double> values, string format) => string.Create(CultureInfo.InvariantCulture, $"{values.Min().ToString(format, CultureInfo.InvariantCulture)}–{values.Max().ToString(format, CultureInfo.InvariantCulture)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            model {dir}: {threads} threads, prompt {promptTokens} tokens, {decodeTokens} generated per stream; {Rounds} rounds of 1 stream then {streams}, medians (range)
            cold start: load {loaded:F2} s, first token {coldFirstToken:F2} s after start
            1 stream:  time to first token {Stats.Median(singles.Select(r => r.FirstToken)) * 1000:F0} ms, decode {Stats.Median(singles.Select(r => r.DecodeRate)):F1} tokens/s ({Span(singles.Select(r => r.DecodeRate), "F1")})
            {streams} streams: time to first token {Stats.Median(manys.Select(r => r.FirstToken)) * 1000:F0} ms (mean), aggregate {Stats.Median(manys.Select(r => r.Aggregate)):F1} tokens/s ({Span(manys.Select(r => r.Aggregate), "F1")}) over {Stats.Median(manys.Select(r => r.Wall)):F2} s with the prefills = {Stats.Median(ratios):F2}× single-stream decode (rounds {Span(ratios, "F2")})
            {streams} streams decoding together: {Stats.Median(manys.Select(r => r.SteadyAggregate)):F1} tokens/s = {Stats.Median(steadyRatios):F2}× single-stream decode (rounds {Span(steadyRatios, "F2")})
            minor page faults in a round of {streams} streams: {string.Join(", ", faults)}
            """));
    }

    /// <summary>The process's minor page faults so far (field 10 of /proc/self/stat); 0 off Linux.</summary>
    private static long MinorFaults()
    {
        if (!OperatingSystem.IsLinux())
            return 0;
        string stat = File.ReadAllText("/proc/self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    private const int Rounds = 5;

    /// <summary>Random weights have no tokenizer; any one will do, since only token ids are timed (unknown ids decode to nothing).</summary>
    internal static void BorrowTokenizer(string dir)
    {
        if (File.Exists(Path.Combine(dir, "tokenizer.json")))
            return;
        string fixture = Path.Combine("..", "shared", "fixtures", "models", "tiny-llama");
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(fixture, file), Path.Combine(dir, file));
    }

    /// <summary>Stream i runs with <paramref name="adapterOf"/>(i) (the base when null or when it returns null).</summary>
    internal static async Task<(double FirstToken, double DecodeRate, double Aggregate, double Wall, double SteadyAggregate)> Measure(
        InferenceEngine engine, int streams, int promptTokens, int decodeTokens, SamplingOptions greedy, Func<int, ServedAdapter?>? adapterOf = null)
    {
        var clock = Stopwatch.StartNew();
        var firsts = new double[streams];
        var lasts = new double[streams];
        var seconds = new double[streams];   // when each stream's second token (its first decode step) came
        var runs = Enumerable.Range(0, streams).Select(async i =>
        {
            // TopLogprobs 0: an update per token (the random model's ids decode to no text with the borrowed tokenizer).
            var stream = engine.Submit(Prompt(i + 1, promptTokens, engine), greedy with { MaxTokens = decodeTokens, TopLogprobs = 0 }, adapterOf?.Invoke(i));
            int updates = 0;
            await foreach (var update in stream.ReadAllAsync())
            {
                double now = clock.Elapsed.TotalSeconds;
                if (updates++ == 0)
                    firsts[i] = now;
                else if (updates == 2)
                    seconds[i] = now;
                lasts[i] = now;
            }
            return (await stream.Completion).TokenIds.Count;
        }).ToArray();
        int total = (await Task.WhenAll(runs)).Sum();
        double wall = clock.Elapsed.TotalSeconds;
        // Tokens after the first over the time after the first: the decode rate of one stream.
        double decodeRate = Enumerable.Range(0, streams).Average(i => (decodeTokens - 1) / (lasts[i] - firsts[i]));
        // From the first decode step (every prompt prefilled) to the first stream's end, all streams decode together.
        double steady = streams * (decodeTokens - 2) / (lasts.Min() - seconds.Max());
        return (firsts.Average(), decodeRate, total / wall, wall, steady);
    }

    internal static int[] Prompt(int seed, int tokens, InferenceEngine engine)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, tokens).Select(_ => random.Next(3, (int)engine.Model.Model.Config.VocabSize))];
    }
}
