using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Bench;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using LLama;
using LLama.Common;
using LLama.Native;
using static FunctionsLlm.Bench.Greedy;
using static TorchSharp.torch;

// dotnet run --project bench/LlamaCppBench -c Release -- [model dir] [prompt tokens] [decode tokens] [threads]
//     [--flash-attention off|on|auto] [--kv f32|f16] [--weights f32|q8_0] [--streams N]
// The same model, prompt and procedure as bench/ModelBench, run by llama.cpp (LLamaSharp's CPU build) from an F32
// GGUF converted here (with --weights q8_0 quantized by llama.cpp itself, output tensor included); then llama.cpp's logits
// are checked against ours (as served: ModelLoadOptions.Q8Weights for q8_0, else PackedWeights) on the first prompt tokens, and so are 32
// greedy tokens after them. With --streams N only what ModelBench's serve measures (LlamaStreams), and nothing else.
var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
string dir = positional.Length > 0 ? positional[0] : Path.Combine("bench", "data", "llama-100m");
int promptTokens = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 512;
int decodeTokens = positional.Length > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 128;
int threads = positional.Length > 3 ? int.Parse(positional[3], CultureInfo.InvariantCulture) : 2;
string flashAttention = Option("--flash-attention", "off");
string kv = Option("--kv", "f32");
string weightType = Option("--weights", "f32");
int prefillRuns = int.Parse(Option("--prefills", "1"), CultureInfo.InvariantCulture);   // as in ModelBench
int streams = int.Parse(Option("--streams", "0"), CultureInfo.InvariantCulture);         // as ModelBench's serve, when given
const int CheckTokens = 16;
const int GreedyTokens = 32;

if (!File.Exists(Path.Combine(dir, "config.json")))
    RandomLlama.Create(dir);
string ggufPath = Path.GetFullPath(dir).TrimEnd('/') + ".gguf";
if (!File.Exists(ggufPath))
{
    var convert = Stopwatch.StartNew();
    LlamaGguf.Convert(dir, ggufPath);
    Console.WriteLine($"converted {dir} to {ggufPath} in {convert.Elapsed.TotalSeconds:F1} s");
}
var config = ModelConfig.Load(dir);

var warnings = new List<string>();
NativeLibraryConfig.All.WithLogCallback((level, message) =>
{
    if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
        warnings.Add(message.TrimEnd());
});
NativeApi.llama_empty_call(); // load the native libraries before timing, as ModelBench initialises torch first
if (weightType == "q8_0")
{
    string quantized = ggufPath[..^".gguf".Length] + "-q8_0.gguf";
    if (!File.Exists(quantized))
        LLamaQuantizer.Quantize(ggufPath, quantized, LLamaFtype.MOSTLY_Q8_0, threads, allowRequantize: true, quantizeOutputTensor: true);
    ggufPath = quantized;
}
PeakRss.Reset();              // the conversion above (torch, the HF weights) is not llama.cpp's memory

var parameters = new ModelParams(ggufPath)
{
    ContextSize = (uint)Math.Max(1024, promptTokens + decodeTokens),
    BatchSize = (uint)Math.Max(promptTokens, CheckTokens),
    UBatchSize = (uint)Math.Max(promptTokens, CheckTokens),
    Threads = threads,
    BatchThreads = threads,
    GpuLayerCount = 0,
    TypeK = kv == "f16" ? GGMLType.GGML_TYPE_F16 : GGMLType.GGML_TYPE_F32,
    TypeV = kv == "f16" ? GGMLType.GGML_TYPE_F16 : GGMLType.GGML_TYPE_F32,
    FlashAttention = flashAttention switch { "on" => true, "off" => false, _ => null },
};
var clock = Stopwatch.StartNew();
using var weights = LLamaWeights.LoadFromFile(parameters);
double loadSeconds = clock.Elapsed.TotalSeconds;
if (streams > 0)
{
    Console.WriteLine($"model      {ggufPath}: {weightType} weights, llama.cpp via LLamaSharp 0.30.0, {threads} threads, KV cache {kv}, flash attention {flashAttention}");
    Console.WriteLine(LlamaStreams.Run(weights, parameters, config.VocabSize, streams, promptTokens, decodeTokens));
    return;
}
clock.Restart();
using var context = weights.CreateContext(parameters);
double contextSeconds = clock.Elapsed.TotalSeconds;

var random = new Random(42);
int[] prompt = [.. Enumerable.Range(0, promptTokens).Select(_ => random.Next(3, config.VocabSize))];
var batch = new LLamaBatch();

// Warm-up as in ModelBench: one short prefill and a few decode steps, then an empty cache.
Decode(context, prompt.AsSpan(0, 32), 0, allLogits: false);
for (int i = 0; i < 8; i++)
    Decode(context, prompt.AsSpan(32 + i, 1), 32 + i, allLogits: false);
context.NativeHandle.MemoryClear(true);

clock.Restart();
Decode(context, prompt, 0, allLogits: false);
int next = ArgMax(context.NativeHandle.GetLogitsIth(promptTokens - 1));
double prefillSeconds = clock.Elapsed.TotalSeconds;
var laterPrefills = new double[prefillRuns - 1];
for (int i = 0; i < laterPrefills.Length; i++)
{
    context.NativeHandle.MemoryClear(true);
    clock.Restart();
    Decode(context, prompt, 0, allLogits: false);
    next = ArgMax(context.NativeHandle.GetLogitsIth(promptTokens - 1));
    laterPrefills[i] = clock.Elapsed.TotalSeconds;
}
Array.Sort(laterPrefills);

var steps = new double[decodeTokens];
for (int i = 0; i < decodeTokens; i++)
{
    clock.Restart();
    Decode(context, [next], promptTokens + i, allLogits: false);
    next = ArgMax(context.NativeHandle.GetLogitsIth(0));
    steps[i] = clock.Elapsed.TotalSeconds;
}
Array.Sort(steps);
string peak = PeakRss.Read();

// Correctness: the same ids through llama.cpp and through our CausalLM, logits of every position. The reference
// context computes exactly in F32 (no flash attention: its CPU kernel rounds through F16; F32 KV cache); the bench
// context, when set otherwise, is checked too, to show what its settings cost in precision.
float[][] reference, bench = Logits(context);
using (var exact = ExactContext())
    reference = Logits(exact);
float[][] ours = OurLogits();
var (referenceDiff, agree) = Compare(ours, reference);
var (benchDiff, _) = Compare(ours, bench);
float maxLogit = ours.Max(row => row.Max(x => Math.Abs(x)));
int[] theirGreedy = GreedyIds(), ourGreedy = OurGreedy();
int sameGreedy = theirGreedy.Zip(ourGreedy).TakeWhile(p => p.First == p.Second).Count();

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    model      {ggufPath}: {weights.ParameterCount / 1e6:F1}M parameters, {weightType} weights, llama.cpp via LLamaSharp 0.30.0, {threads} threads, KV cache {kv}, flash attention {flashAttention}
    load       {loadSeconds:F2} s (memory-mapped; creating the context {contextSeconds:F2} s more)
    prefill    {promptTokens} tokens in {prefillSeconds:F2} s = {promptTokens / prefillSeconds:F1} tokens/s{LaterPrefills(laterPrefills, promptTokens)}
    decode     {decodeTokens} tokens: {decodeTokens / steps.Sum():F1} tokens/s (median step {steps[decodeTokens / 2] * 1000:F1} ms, p90 {steps[decodeTokens * 9 / 10] * 1000:F1} ms)
    peak RSS   {peak}
    llama.cpp  {System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info())?.Trim()}
    logits     first {CheckTokens} prompt ids, every position, max |llama.cpp − ours|: {referenceDiff:E2} (F32 KV, no flash attention), {benchDiff:E2} (bench settings); max |logit| {maxLogit:F3}; argmax agrees at {agree}/{CheckTokens}
    greedy     {GreedyTokens} tokens after the first {CheckTokens} prompt ids: the first {sameGreedy} equal (llama.cpp {string.Join(' ', theirGreedy.Take(8))} …, ours {string.Join(' ', ourGreedy.Take(8))} …)
    """));
foreach (var warning in warnings.Distinct())
    Console.WriteLine($"llama.cpp: {warning}");

string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

void Decode(LLamaContext target, ReadOnlySpan<int> tokens, int start, bool allLogits)
{
    batch.Clear();
    for (int i = 0; i < tokens.Length; i++)
        batch.Add(tokens[i], start + i, LLamaSeqId.Zero, allLogits || i == tokens.Length - 1);
    LlamaStreams.Decode(target, batch);
}

float[][] Logits(LLamaContext target)
{
    target.NativeHandle.MemoryClear(true);
    Decode(target, prompt.AsSpan(0, CheckTokens), 0, allLogits: true);
    return [.. Enumerable.Range(0, CheckTokens).Select(i => target.NativeHandle.GetLogitsIth(i).ToArray())];
}

// The reference: F32 KV cache, no flash attention (its CPU kernel rounds through F16).
LLamaContext ExactContext() =>
    weights.CreateContext(parameters with { FlashAttention = false, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32 });

int[] GreedyIds()
{
    using var exact = ExactContext();
    Decode(exact, prompt.AsSpan(0, CheckTokens), 0, allLogits: false);
    var ids = new List<int> { ArgMax(exact.NativeHandle.GetLogitsIth(CheckTokens - 1)) };
    while (ids.Count < GreedyTokens)
    {
        Decode(exact, [ids[^1]], CheckTokens + ids.Count - 1, allLogits: false);
        ids.Add(ArgMax(exact.NativeHandle.GetLogitsIth(0)));
    }
    return [.. ids];
}

int[] OurGreedy()
{
    set_num_threads(threads);
    using var model = ModelLoader.Load(dir, OurOptions());
    using var noGrad = no_grad();
    using var cache = model.CreateCache(1, CheckTokens + GreedyTokens);
    var ids = new List<int>();
    long[] next = [.. prompt.Take(CheckTokens).Select(id => (long)id)];
    while (ids.Count < GreedyTokens)
    {
        using var input = tensor(next, [1, next.Length]);
        using var logits = model.Forward(input, cache, lastPositionOnly: true);
        ids.Add((int)logits.argmax().item<long>());
        next = [ids[^1]];
    }
    return [.. ids];
}

// Ours as served: Q8_0, or F32 packed for the CPU kernels where it has 512-bit vectors.
ModelLoadOptions OurOptions() => new(CPU, ScalarType.Float32) { Q8Weights = weightType == "q8_0", PackedWeights = true };

float[][] OurLogits()
{
    set_num_threads(threads);
    using var model = ModelLoader.Load(dir, OurOptions());
    using var noGrad = no_grad();
    using var ids = tensor(prompt.Take(CheckTokens).Select(id => (long)id).ToArray(), [1, CheckTokens]);
    using var logits = model.Forward(ids);
    float[] flat = logits.reshape(-1).data<float>().ToArray();
    return [.. flat.Chunk(config.VocabSize)];
}

static (double MaxDiff, int ArgMaxAgree) Compare(float[][] ours, float[][] theirs)
{
    double maxDiff = 0;
    int agree = 0;
    for (int i = 0; i < ours.Length; i++)
    {
        for (int v = 0; v < ours[i].Length; v++)
            maxDiff = Math.Max(maxDiff, Math.Abs(ours[i][v] - theirs[i][v]));
        agree += ArgMax(ours[i]) == ArgMax(theirs[i]) ? 1 : 0;
    }
    return (maxDiff, agree);
}

// As ModelBench prints it: the median of the prefills after the first, or nothing without --prefills.
static string LaterPrefills(double[] sorted, int tokens) => sorted.Length == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
    $"\nprefill+   {sorted.Length} more: median {sorted[sorted.Length / 2]:F2} s = {tokens / sorted[sorted.Length / 2]:F1} tokens/s ({tokens / sorted[^1]:F1}–{tokens / sorted[0]:F1})");
