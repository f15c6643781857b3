using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Modeling.Runtime;
using FunctionsLlm.Training;
using FunctionsLlm.Training.Optimization;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// LoRA training speed: tokens/s and achieved FLOP/s against the fp32 matmul peak measured in the same process, and
/// resident memory over the steps. Frozen base: forward 2N + input gradients 2N FLOPs per token (N = matmul
/// parameters incl. the output head), attention 4·T·d forward and 8·T·d backward per layer and token.
/// </summary>
internal static class TrainBench
{
    /// <param name="quantize">Hold the frozen base in 4 bits (QLoRA), quantized at load.</param>
    /// <param name="checkpointing">Recompute each layer in backward (gradient checkpointing).</param>
    public static void Run(string dir, int steps, int batch, int sequence, int threads, FourBitOptions? quantize = null, bool checkpointing = false)
    {
        set_num_threads(threads);
        NativeRuntime.Configure();
        double peak = MatmulPeak();
        long rssBefore = ResidentBytes();
        using var model = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32, Quantize: quantize));
        GC.Collect();
        long rssLoaded = ResidentBytes() - rssBefore;
        LoraInjector.Inject(model, new LoraConfig { R = 16, LoraAlpha = 32, LoraDropout = 0.05 }, new Generator(1));
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = new AdamW(trainable, 0.9, 0.999, 1e-8, 0);
        var c = model.Config;
        long matmulParameters = LoraInjector.LinearLayers(model).Values.Sum(l => l.InFeatures * l.OutFeatures) + (c.TieWordEmbeddings ? (long)c.VocabSize * c.HiddenSize : 0);
        double flopsPerToken = (4.0 * matmulParameters) + (12.0 * c.NumHiddenLayers * sequence * c.NumAttentionHeads * c.HeadDim);

        var generator = new Generator(7);
        using var ids = randint(3, c.VocabSize, [batch, sequence], generator: generator);
        model.train();
        model.GradientCheckpointing = checkpointing;
        var rss = new List<(int Step, long Bytes)>();
        var times = new List<double>();
        var clock = new Stopwatch();
        for (int step = 1; step <= steps; step++)
        {
            clock.Restart();
            using (var scope = NewDisposeScope())
            {
                optimizer.ZeroGrad();
                var logits = model.Forward(ids);
                var loss = CausalLmLoss.Sum(logits, ids) / (batch * (sequence - 1));
                loss.backward();
                nn.utils.clip_grad_norm_(trainable.Select(p => p.parameter), 1.0);
                optimizer.Step(1e-4);
            }
            times.Add(clock.Elapsed.TotalSeconds);
            if (step == 1 || step % Math.Max(1, steps / 10) == 0)
                rss.Add((step, ResidentBytes()));
        }
        var steady = times.Skip(Math.Min(2, times.Count - 1)).ToList();
        double seconds = steady.Average();
        double tokensPerSecond = batch * sequence / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            model      {dir}: {(quantize is null ? "LoRA" : $"QLoRA ({quantize.Type.Name} base)")}{(checkpointing ? " with gradient checkpointing" : "")}, {LoraInjector.TrainableSummary(model)}, {threads} threads
            base       {BaseBytes(model) / 1e6:F1} MB of tensors held ({BaseParameters(model) * 2 / 1e6:F1} MB in BF16, {BaseParameters(model) * 4 / 1e6:F1} MB in fp32); RSS +{rssLoaded >> 20} MB after loading
            batch      {batch} × {sequence} tokens, {steps} steps (first 2 not timed)
            step       {seconds * 1000:F0} ms (median {steady.Order().ElementAt(steady.Count / 2) * 1000:F0} ms) = {tokensPerSecond:F0} tokens/s
            FLOP/s     {tokensPerSecond * flopsPerToken / 1e9:F1} GFLOP/s achieved vs {peak / 1e9:F1} GFLOP/s fp32 matmul peak = {100 * tokensPerSecond * flopsPerToken / peak:F0}%
            RSS        {string.Join(", ", rss.Select(r => $"step {r.Step}: {r.Bytes >> 20} MB"))}; peak {PeakResidentBytes() >> 20} MB
            """));
    }

    // The frozen weights as held: dense tensors at their size, 4-bit ones as packed codes plus fp32 absmax.
    private static long BaseBytes(CausalLM model) =>
        model.parameters().Where(p => !p.requires_grad).Sum(p => p.numel() * p.element_size())
        + LoraInjector.LinearLayers(model).Values.Select(l => l.Quantized).OfType<FourBitWeight>().Sum(w => w.Packed.numel() + (w.Absmax.numel() * 4));

    private static long BaseParameters(CausalLM model) =>
        model.parameters().Where(p => !p.requires_grad).Sum(p => p.numel())
        + LoraInjector.LinearLayers(model).Values.Where(l => l.Quantized is not null).Sum(l => l.InFeatures * l.OutFeatures);

    private static double MatmulPeak()
    {
        using var a = randn(2048, 2048);
        using var b = randn(2048, 2048);
        a.matmul(b).Dispose();
        var clock = Stopwatch.StartNew();
        const int repeats = 10;
        for (int i = 0; i < repeats; i++)
            a.matmul(b).Dispose();
        return repeats * 2.0 * 2048 * 2048 * 2048 / clock.Elapsed.TotalSeconds;
    }

    private static long ResidentBytes() => StatusBytes("VmRSS:");

    private static long PeakResidentBytes() => StatusBytes("VmHWM:");

    private static long StatusBytes(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
