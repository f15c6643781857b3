using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Bench;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

// dotnet run --project bench/ModelBench -c Release -- [model dir] [prompt tokens] [decode tokens] [threads] [--profile | --rows [--cached N] | --floors [--cached N] | --ragged | --layouts] [--weights q8_0|rows] [--steps]
// dotnet run --project bench/ModelBench -c Release -- kernels [threads]
// dotnet run --project bench/ModelBench -c Release -- train [model dir] [steps] [batch] [sequence] [threads] [lora|nf4|fp4|compare][-gc]
// dotnet run --project bench/ModelBench -c Release -- serve [model dir] [streams] [prompt tokens] [decode tokens] [threads]
// dotnet run --project bench/ModelBench -c Release -- chunked [model dir] [streams] [long prompt tokens] [threads] [CHUNK or CHUNK:STALL, comma-separated]
// dotnet run --project bench/ModelBench -c Release -- multilora [model dir] [streams] [adapters] [prompt tokens] [decode tokens] [threads] [rank]
NativeRuntime.Configure();   // before libtorch loads, as ModelLoader would
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
if (args.Length > 0 && args[0] == "serve")
{
    string serveDir = args.Length > 1 ? args[1] : Path.Combine("bench", "data", "llama-100m");
    if (!File.Exists(Path.Combine(serveDir, "config.json")))
        RandomLlama.Create(serveDir);
    await ServeBench.RunAsync(serveDir, Arg(2, 8), Arg(3, 64), Arg(4, 128), Arg(5, 2));
    return;
}
if (args.Length > 0 && args[0] == "kernels")
{
    KernelBench.Run(Arg(1, 2));
    return;
}
if (args.Length > 0 && args[0] == "chunkprofile")
{
    ChunkProfile.Run(args.Length > 1 ? args[1] : Path.Combine("bench", "data", "llama-100m"), Arg(2, 2000), Arg(3, 2),
        args.Length > 4 ? [.. args[4].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : [2000, 128, 32, 16], Arg(5, 1));
    return;
}
if (args.Length > 0 && args[0] == "chunked")
{
    string chunkedDir = args.Length > 1 ? args[1] : Path.Combine("bench", "data", "llama-100m");
    if (!File.Exists(Path.Combine(chunkedDir, "config.json")))
        RandomLlama.Create(chunkedDir);
    string[] configurations = args.Length > 5 ? args[5].Split(',') : ["4096:0", "128:0", "128"];
    await ChunkedPrefillBench.RunAsync(chunkedDir, Arg(2, 4), Arg(3, 2000), Arg(4, 2), configurations);
    return;
}
if (args.Length > 0 && args[0] == "multilora")
{
    string loraDir = args.Length > 1 ? args[1] : Path.Combine("bench", "data", "llama-100m");
    if (!File.Exists(Path.Combine(loraDir, "config.json")))
        RandomLlama.Create(loraDir);
    await MultiLoraBench.RunAsync(loraDir, Arg(2, 8), Arg(3, 4), Arg(4, 64), Arg(5, 128), Arg(6, 2), Arg(7, 16));
    return;
}
if (args.Length > 0 && args[0] == "train")
{
    string trainDir = args.Length > 1 ? args[1] : Path.Combine("bench", "data", "llama-100m");
    if (!File.Exists(Path.Combine(trainDir, "config.json")))
        RandomLlama.Create(trainDir);
    string mode = args.Length > 6 ? args[6] : "lora";
    bool checkpointing = mode.EndsWith("-gc", StringComparison.Ordinal);   // gradient checkpointing
    mode = checkpointing ? mode[..^3] : mode;
    // compare: LoRA, then QLoRA (NF4 base), alternately three times, each on a freshly loaded model
    string[] runs = mode == "compare" ? ["lora", "nf4", "lora", "nf4", "lora", "nf4"] : [mode];
    foreach (string run in runs)
        TrainBench.Run(trainDir, Arg(2, 20), Arg(3, 4), Arg(4, 256), Arg(5, 2), run == "lora" ? null : FunctionsLlm.Modeling.Quantization.FourBitOptions.Parse(run), checkpointing);
    return;
}
// --weights q8_0: every linear weight and the output head in Q8_0, as llama.cpp's Q8_0 model (ModelLoadOptions.Q8Weights);
// --weights rows: fp32 weights row-major (CpuMatVec); otherwise fp32 weights packed as served (ModelLoadOptions.PackedWeights)
// --prefills N: the first prefill after the warm-up as always, then the median of N - 1 more, each into an empty cache
// (the first one also pays for first-touch memory and the first libtorch calls at that size).
// --cached N (with --rows): each row's prompt before the timed steps, 64 tokens unless given.
int weightsAt = Array.IndexOf(args, "--weights"), prefillsAt = Array.IndexOf(args, "--prefills"), cachedAt = Array.IndexOf(args, "--cached");
bool q8 = weightsAt >= 0 && weightsAt + 1 < args.Length && args[weightsAt + 1] == "q8_0";
bool rowMajor = weightsAt >= 0 && weightsAt + 1 < args.Length && args[weightsAt + 1] == "rows";
int prefillRuns = prefillsAt >= 0 && prefillsAt + 1 < args.Length ? int.Parse(args[prefillsAt + 1], CultureInfo.InvariantCulture) : 1;
int cachedTokens = cachedAt >= 0 && cachedAt + 1 < args.Length ? int.Parse(args[cachedAt + 1], CultureInfo.InvariantCulture) : 64;
bool OptionValue(int i) => (weightsAt >= 0 && i == weightsAt + 1) || (prefillsAt >= 0 && i == prefillsAt + 1) || (cachedAt >= 0 && i == cachedAt + 1);
string[] positional = [.. args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && !OptionValue(i))];
string dir = positional.Length > 0 ? positional[0] : Path.Combine("bench", "data", "llama-100m");
int promptTokens = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 512;
int decodeTokens = positional.Length > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 128;
int threads = positional.Length > 3 ? int.Parse(positional[3], CultureInfo.InvariantCulture) : 2;

if (!File.Exists(Path.Combine(dir, "config.json")))
    RandomLlama.Create(dir);
set_num_threads(threads);

var clock = Stopwatch.StartNew();
using var model = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = q8, PackedWeights = !rowMajor });
double loadSeconds = clock.Elapsed.TotalSeconds;
// Parameters plus the linear weights held outside them (Q8_0 blocks, packed F32).
long parameters = model.parameters().Sum(p => p.numel())
    + model.modules().OfType<LinearLayer>().Where(l => l.weight is null).Sum(l => l.OutFeatures * l.InFeatures);
bool packedWeights = model.modules().OfType<LinearLayer>().Any(l => l.Packed is not null);
if (args.Contains("--profile"))
{
    DecodeProfile.Run(model, threads);
    return;
}
if (args.Contains("--layouts"))
{
    if (q8 || rowMajor)
        throw new ArgumentException("--layouts loads the F32 weights both ways itself (leave out --weights)");
    LayoutBench.Run(dir, model);
    return;
}
if (args.Contains("--ragged"))
{
    RaggedBench.Run(model);
    return;
}
if (args.Contains("--floors"))
{
    FloorBench.Run(model, threads, cachedAt >= 0 ? cachedTokens : 128);
    return;
}
if (args.Contains("--rows"))
{
    RowsBench.Run(model, threads, cachedTokens);
    return;
}

var random = new Random(42);
long[] prompt = [.. Enumerable.Range(0, promptTokens).Select(_ => (long)random.Next(3, model.Config.VocabSize))];
using var noGrad = no_grad();
using var input = tensor(prompt, [1, promptTokens]);

// Warm-up: one short prefill and a few decode steps (JIT, allocator, thread pool).
using (var warmCache = model.CreateCache(1, 64))
{
    using var warm = model.Forward(input.narrow(1, 0, 32), warmCache, lastPositionOnly: true);
    for (int i = 0; i < 8; i++)
        model.Forward(input.narrow(1, i, 1), warmCache, lastPositionOnly: true).Dispose();
}

var cache = model.CreateCache(1, promptTokens + decodeTokens);
clock.Restart();
var logits = model.Forward(input, cache, lastPositionOnly: true);
long next = logits.argmax().item<long>();
double prefillSeconds = clock.Elapsed.TotalSeconds;
var laterPrefills = new double[prefillRuns - 1];
for (int i = 0; i < laterPrefills.Length; i++)
{
    logits.Dispose();
    cache.Dispose();
    cache = model.CreateCache(1, promptTokens + decodeTokens);
    clock.Restart();
    logits = model.Forward(input, cache, lastPositionOnly: true);
    next = logits.argmax().item<long>();
    laterPrefills[i] = clock.Elapsed.TotalSeconds;
}
Array.Sort(laterPrefills);

var steps = new double[decodeTokens];
for (int i = 0; i < decodeTokens; i++)
{
    clock.Restart();
    logits.Dispose();
    using var token = tensor(new[] { next }, [1, 1]);
    logits = model.Forward(token, cache, lastPositionOnly: true);
    next = logits.argmax().item<long>();
    steps[i] = clock.Elapsed.TotalSeconds;
}
logits.Dispose();
cache.Dispose();
if (args.Contains("--steps"))   // every step in order: where the slow ones fall (JIT tiering, collections)
    Console.WriteLine(string.Join(' ', steps.Select(s => (s * 1000).ToString("F1", CultureInfo.InvariantCulture))));
Array.Sort(steps);

string peak = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(':')[1].Trim();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    model      {dir}: {parameters / 1e6:F1}M parameters, {(q8 ? "Q8_0 weights" : packedWeights ? "F32 packed" : "F32 row-major")}, {threads} threads
    load       {loadSeconds:F2} s
    prefill    {promptTokens} tokens in {prefillSeconds:F2} s = {promptTokens / prefillSeconds:F1} tokens/s{LaterPrefills(laterPrefills, promptTokens)}
    decode     {decodeTokens} tokens: {decodeTokens / steps.Sum():F1} tokens/s (median step {steps[decodeTokens / 2] * 1000:F1} ms, p90 {steps[decodeTokens * 9 / 10] * 1000:F1} ms)
    peak RSS   {peak}
    """));

// The median of the prefills after the first, on a line of its own, or nothing without --prefills.
static string LaterPrefills(double[] sorted, int tokens) => sorted.Length == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
    $"\nprefill+   {sorted.Length} more: median {sorted[sorted.Length / 2]:F2} s = {tokens / sorted[sorted.Length / 2]:F1} tokens/s ({tokens / sorted[^1]:F1}–{tokens / sorted[0]:F1})");
