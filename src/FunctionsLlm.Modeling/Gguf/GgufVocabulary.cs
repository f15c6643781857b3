using System.Globalization;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Config;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>
/// The tokenizer.* keys of a GGUF, from the model folder's tokenizer.json and tokenizer_config.json, so that llama.cpp
/// tokenizes as we do: the tokens by id with llama.cpp's token types, the merges, the pre-tokenizer llama.cpp implements
/// for the tokenizer's split regex, the special token ids, whether BOS/EOS are added, and the chat template.
/// </summary>
public static class GgufVocabulary
{
    // llama_token_type
    private const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <summary>
    /// llama.cpp's pre-tokenizer names by the regex it runs; the regexes are tokenizer.json's own (llama.cpp rewrites
    /// the case-insensitive group, same matches). Llama 3's regex names "llama-bpe" only with ignore_merges, which that
    /// name switches on in llama.cpp; without it "smaug-bpe" runs the same regex without ignoring merges.
    /// </summary>
    private static readonly (string Pattern, bool? IgnoreMerges, string Name)[] PreTokenizers =
    [
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", false, "qwen2"),
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", true, "llama-bpe"),
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", false, "smaug-bpe"),
        (@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", false, "gpt-2"),
    ];

    public static void Add(GgufWriter gguf, string modelDir, ModelConfig config, int embeddingRows)
    {
        var tokenizer = HfTokenizer.Load(modelDir);
        var bpe = tokenizer.Bpe
            ?? throw new GgufExportException($"{modelDir}: GGUF export needs a tokenizer.json (this folder has only tokenizer.model or a tiktoken file)");
        if (!bpe.ByteLevel)
            throw new GgufExportException($"{modelDir}: SentencePiece-style tokenizer.json (Llama 2, Mistral) is not exported yet; byte-level BPE is (GPT-2, Llama 3, Qwen, GLM)");
        if (bpe.Tokens.Count > embeddingRows)
            throw new GgufExportException($"{modelDir}: the tokenizer has ids up to {bpe.Tokens.Count - 1}, the embedding only {embeddingRows} rows");

        var tokens = new string[embeddingRows];
        var types = new int[embeddingRows];
        for (int id = 0; id < embeddingRows; id++)
        {
            string? token = id < bpe.Tokens.Count ? bpe.Tokens[id] : null;
            (tokens[id], types[id]) = token switch
            {
                null => (string.Create(CultureInfo.InvariantCulture, $"[PAD{id}]"), Unused),
                _ when bpe.SpecialIds.Contains(id) || (bpe.AddedIds.Contains(id) && LooksSpecial(token)) => (token, Control),
                _ when bpe.AddedIds.Contains(id) => (token.Replace('▁', ' '), UserDefined),
                _ => (token, Normal),
            };
        }

        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", PreTokenizerName(bpe, modelDir));
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.merges", bpe.Merges);
        AddSpecialTokens(gguf, tokenizer, config);
        if (tokenizer.ChatTemplate is { } template)
            gguf.Add("tokenizer.chat_template", template);
    }

    /// <summary>The pre-tokenizer name for the tokenizer's split regex; refused when llama.cpp has none that splits the same way.</summary>
    public static string PreTokenizerName(BpeVocabulary bpe, string source)
    {
        if (bpe.AddPrefixSpace)
            throw new GgufExportException($"{source}: a ByteLevel pre-tokenizer with add_prefix_space has no llama.cpp counterpart");
        foreach (var (pattern, ignoreMerges, name) in PreTokenizers)
        {
            if (bpe.SplitPatterns.Count == 1 && bpe.SplitPatterns[0] == pattern && (ignoreMerges is null || ignoreMerges == bpe.IgnoreMerges))
                return name;
        }
        throw new GgufExportException(
            $"{source}: llama.cpp has no pre-tokenizer known to split as this tokenizer.json does ({string.Join(" then ", bpe.SplitPatterns)}" +
            $"{(bpe.IgnoreMerges ? ", ignore_merges" : "")}); known: {string.Join(", ", PreTokenizers.Select(p => p.Name))}");
    }

    /// <summary>
    /// bos/eos/pad ids as the tokenizer names them (config.json's ids when it names none); more end-of-generation ids
    /// from config.json go in as eot and eom, the two other ends llama.cpp stops on. add_bos/add_eos as encoding adds them.
    /// </summary>
    private static void AddSpecialTokens(GgufWriter gguf, HfTokenizer tokenizer, ModelConfig config)
    {
        int? bos = tokenizer.BosTokenId ?? config.BosTokenId?.FirstOrDefault();
        int? eos = tokenizer.EosTokenId ?? config.EosTokenId?.FirstOrDefault();
        int? pad = tokenizer.PadTokenId ?? config.PadTokenId?.FirstOrDefault();
        if (bos is { } b)
            gguf.Add("tokenizer.ggml.bos_token_id", (uint)b);
        if (eos is { } e)
            gguf.Add("tokenizer.ggml.eos_token_id", (uint)e);
        if (pad is { } p)
            gguf.Add("tokenizer.ggml.padding_token_id", (uint)p);
        var otherEnds = (config.EosTokenId ?? []).Where(id => id != eos).Distinct().ToList();
        if (otherEnds.Count > 0)
            gguf.Add("tokenizer.ggml.eot_token_id", (uint)otherEnds[0]);
        if (otherEnds.Count > 1)
            gguf.Add("tokenizer.ggml.eom_token_id", (uint)otherEnds[1]);

        var framed = tokenizer.Encode("", addSpecialTokens: true);
        gguf.Add("tokenizer.ggml.add_bos_token", bos is not null && framed.Count > 0 && framed[0] == bos);
        gguf.Add("tokenizer.ggml.add_eos_token", eos is not null && framed.Count > 0 && framed[^1] == eos && framed.Count > (framed[0] == bos ? 1 : 0));
    }

    /// <summary>Added tokens that some models forget to mark special, as llama.cpp's converter recognises them.</summary>
    private static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal))
        || (token.StartsWith("<｜", StringComparison.Ordinal) && token.EndsWith("｜>", StringComparison.Ordinal))
        || (token.StartsWith("<unused", StringComparison.Ordinal) && token.EndsWith('>'));
}
