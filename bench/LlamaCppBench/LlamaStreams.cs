using System.Diagnostics;
using System.Globalization;
using LLama;
using LLama.Common;
using LLama.Native;
using static FunctionsLlm.Bench.Greedy;

namespace FunctionsLlm.Bench;

/// <summary>
/// `--streams N`: what ModelBench's `serve` measures, done by llama.cpp: one stream (a prompt, then greedy tokens one at
/// a time), then N streams started together (their prompts in one batch, then one batch of N tokens a step, every
/// sequence in its own KV cells), greedy, no stop. Reported as serve reports it: the aggregate of the N streams with
/// their prefills, and while all decode, over the single stream's decode rate. A plain loop on the calling thread,
/// without the serving engine's queue, sampling and streaming around it.
/// </summary>
internal static class LlamaStreams
{
    public static string Run(LLamaWeights weights, ModelParams parameters, int vocabulary, int streams, int promptTokens, int decodeTokens)
    {
        var perStream = parameters with
        {
            ContextSize = (uint)(streams * (promptTokens + decodeTokens + 8)),
            BatchSize = (uint)(streams * promptTokens),
            UBatchSize = (uint)(streams * promptTokens),
            SeqMax = (uint)streams,
            KVUnified = false,   // llama.cpp's advice for sequences without a shared prefix; unified measured 1.70-1.76x against 1.98-2.10x
        };
        using var context = weights.CreateContext(perStream);
        var batch = new LLamaBatch();
        Measure(context, batch, 1, promptTokens, 8, vocabulary); // warm-up
        var single = Measure(context, batch, 1, promptTokens, decodeTokens, vocabulary);
        var many = Measure(context, batch, streams, promptTokens, decodeTokens, vocabulary);
        return string.Create(CultureInfo.InvariantCulture, $"""
            streams    1 stream: first token {single.FirstToken * 1000:F0} ms, decode {single.DecodeRate:F1} tokens/s
            streams    {streams} streams: first token {many.FirstToken * 1000:F0} ms, aggregate {many.Aggregate:F1} tokens/s over {many.Wall:F2} s with the prefills = {many.Aggregate / single.DecodeRate:F2}× single-stream decode; decoding together {many.Steady:F1} tokens/s = {many.Steady / single.DecodeRate:F2}×
            """);
    }

    private static (double FirstToken, double DecodeRate, double Aggregate, double Wall, double Steady) Measure(
        LLamaContext context, LLamaBatch batch, int streams, int promptTokens, int decodeTokens, int vocabulary)
    {
        context.NativeHandle.MemoryClear(true);
        var prompts = Enumerable.Range(0, streams).Select(s =>
        {
            var random = new Random(s + 1);
            return Enumerable.Range(0, promptTokens).Select(_ => random.Next(3, vocabulary)).ToArray();
        }).ToArray();
        var clock = Stopwatch.StartNew();
        batch.Clear();
        var logitsAt = new int[streams];
        for (int s = 0; s < streams; s++)
        {
            for (int i = 0; i < promptTokens; i++)
                logitsAt[s] = batch.Add(prompts[s][i], i, (LLamaSeqId)s, i == promptTokens - 1);
        }
        Decode(context, batch);
        var next = logitsAt.Select(at => ArgMax(context.NativeHandle.GetLogitsIth(at))).ToArray();
        double firstToken = clock.Elapsed.TotalSeconds, secondToken = 0;
        for (int step = 1; step < decodeTokens; step++)
        {
            batch.Clear();
            for (int s = 0; s < streams; s++)
                logitsAt[s] = batch.Add(next[s], promptTokens + step - 1, (LLamaSeqId)s, true);
            Decode(context, batch);
            for (int s = 0; s < streams; s++)
                next[s] = ArgMax(context.NativeHandle.GetLogitsIth(logitsAt[s]));
            if (step == 1)
                secondToken = clock.Elapsed.TotalSeconds;
        }
        double wall = clock.Elapsed.TotalSeconds;
        return (firstToken, (decodeTokens - 1) / (wall - firstToken), streams * decodeTokens / wall, wall,
            streams * (decodeTokens - 2) / (wall - secondToken));
    }

    /// <summary>llama_decode of <paramref name="batch"/>, failing on anything but Ok.</summary>
    internal static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode returned {result}");
    }
}
