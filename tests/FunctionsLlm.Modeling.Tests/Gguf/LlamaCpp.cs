using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// A GGUF file run by llama.cpp (LLamaSharp's CPU build), the independent runtime the exports are checked against:
/// exact F32 arithmetic where it has a choice (F32 KV cache, no flash attention), logits of every position.
/// </summary>
internal sealed class LlamaCpp : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;

    static LlamaCpp()
    {
        // llama.cpp logs every load at length; keep its errors only, for the test output.
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
                Console.Error.Write(message);
        });
    }

    /// <param name="vocabularyOnly">Load the tokenizer only (a file from GgufExporter.ExportVocabulary).</param>
    public LlamaCpp(string ggufPath, bool vocabularyOnly = false)
    {
        _parameters = new ModelParams(ggufPath)
        {
            ContextSize = 256,
            BatchSize = 256,
            UBatchSize = 256,
            Threads = 2,
            BatchThreads = 2,
            GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
            VocabOnly = vocabularyOnly,
        };
        _weights = LLamaWeights.LoadFromFile(_parameters);
    }

    public IReadOnlyDictionary<string, string> Metadata => _weights.Metadata;

    public int VocabSize => _weights.Vocab.Count;

    /// <summary>Logits of every position of <paramref name="ids"/>, (tokens × vocab) flattened row by row.</summary>
    public float[] Logits(IReadOnlyList<int> ids)
    {
        using var context = _weights.CreateContext(_parameters);
        Decode(context, ids, 0, allLogits: true);
        return [.. Enumerable.Range(0, ids.Count).SelectMany(i => context.NativeHandle.GetLogitsIth(i).ToArray())];
    }

    /// <summary>The argmax continuation of <paramref name="prompt"/>, <paramref name="count"/> tokens.</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count) => GreedyWithMargins(prompt, count).Ids;

    /// <summary>The argmax continuation and, at each step, how far the top logit is above the second.</summary>
    public (int[] Ids, float[] Margins) GreedyWithMargins(IReadOnlyList<int> prompt, int count)
    {
        using var context = _weights.CreateContext(_parameters);
        Decode(context, prompt, 0, allLogits: false);
        var ids = new List<int>();
        var margins = new List<float>();
        void Choose(ReadOnlySpan<float> logits)
        {
            int best = ArgMax(logits);
            float second = float.NegativeInfinity;
            for (int i = 0; i < logits.Length; i++)
            {
                if (i != best)
                    second = Math.Max(second, logits[i]);
            }
            ids.Add(best);
            margins.Add(logits[best] - second);
        }

        Choose(context.NativeHandle.GetLogitsIth(prompt.Count - 1));
        while (ids.Count < count)
        {
            Decode(context, [ids[^1]], prompt.Count + ids.Count - 1, allLogits: false);
            Choose(context.NativeHandle.GetLogitsIth(0));
        }
        return ([.. ids], [.. margins]);
    }

    /// <summary>llama.cpp's tokenization: no BOS added, special tokens written in the text recognised.</summary>
    public int[] Tokenize(string text) =>
        [.. _weights.Tokenize(text, add_bos: false, special: true, Encoding.UTF8).Select(token => (int)token)];

    public void Dispose() => _weights.Dispose();

    private static void Decode(LLamaContext context, IReadOnlyList<int> tokens, int start, bool allLogits)
    {
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++)
            batch.Add(tokens[i], start + i, LLamaSeqId.Zero, allLogits || i == tokens.Count - 1);
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode returned {result}");
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
                best = i;
        }
        return best;
    }
}
