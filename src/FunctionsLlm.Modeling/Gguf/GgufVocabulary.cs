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
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

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

    /// <summary>Adds the tokenizer.* keys; returns what llama.cpp will do differently, if anything.</summary>
    /// <param name="embeddingRows">The model's vocabulary size (rows past the tokenizer's ids are padding); null: the tokenizer's.</param>
    public static IReadOnlyList<string> Add(GgufWriter gguf, string modelDir, ModelConfig? config, int? embeddingRows)
    {
        var tokenizer = HfTokenizer.Load(modelDir);
        var bpe = tokenizer.Bpe
            ?? throw new GgufExportException($"{modelDir}: GGUF export needs a tokenizer.json (this folder has only tokenizer.model or a tiktoken file)");
        int rows = embeddingRows ?? bpe.Tokens.Count;
        if (bpe.Tokens.Count > rows)
            throw new GgufExportException($"{modelDir}: the tokenizer has ids up to {bpe.Tokens.Count - 1}, the embedding only {rows} rows");
        var warnings = new List<string>();
        if (bpe.ByteLevel)
            AddByteLevel(gguf, bpe, rows, modelDir);
        else
            AddSentencePiece(gguf, bpe, rows, warnings);
        AddSpecialTokens(gguf, tokenizer, config);
        if (tokenizer.ChatTemplate is { } template)
            gguf.Add("tokenizer.chat_template", template);
        return warnings;
    }

    /// <summary>Byte-level BPE is llama.cpp's "gpt2" model: tokens, merges and a named pre-tokenizer.</summary>
    private static void AddByteLevel(GgufWriter gguf, BpeVocabulary bpe, int embeddingRows, string modelDir)
    {
        var tokens = new string[embeddingRows];
        var types = new int[embeddingRows];
        for (int id = 0; id < embeddingRows; id++)
        {
            string? token = id < bpe.Tokens.Count ? bpe.Tokens[id] : null;
            (tokens[id], types[id]) = token switch
            {
                null => (Padding(id), Unused),
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
    }

    /// <summary>
    /// SentencePiece-style BPE is llama.cpp's "llama" model, which merges the adjacent pair of highest score first: a
    /// token made by merge number r scores −r, so llama.cpp merges in the merges' order as Hugging Face does. (llama.cpp's
    /// own converter gives every token −1000 when it has no tokenizer.model, and then merges left to right.) Tokens no
    /// merge makes score lowest, as Hugging Face never forms them.
    /// </summary>
    private static void AddSentencePiece(GgufWriter gguf, BpeVocabulary bpe, int embeddingRows, List<string> warnings)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < bpe.Tokens.Count; id++)
        {
            if (bpe.Tokens[id] is { } t && !bpe.AddedIds.Contains(id))
                ids.TryAdd(t, id);
        }
        var rank = new Dictionary<int, int>();
        for (int r = 0; r < bpe.Merges.Count; r++)
        {
            string merge = bpe.Merges[r];
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            if (ids.TryGetValue(string.Concat(merge.AsSpan(0, space), merge.AsSpan(space + 1)), out int made))
                rank.TryAdd(made, r);
        }

        var tokens = new string[embeddingRows];
        var scores = new float[embeddingRows];
        var types = new int[embeddingRows];
        for (int id = 0; id < embeddingRows; id++)
        {
            string? token = id < bpe.Tokens.Count ? bpe.Tokens[id] : null;
            scores[id] = rank.TryGetValue(id, out int r) ? -r : token is not null && !bpe.AddedIds.Contains(id) && token.Length > 1 ? -1e9f : 0f;
            (tokens[id], types[id]) = token switch
            {
                null => (Padding(id), Unused),
                _ when id == bpe.UnknownId => (token, Unknown),
                _ when bpe.SpecialIds.Contains(id) => (token, Control),
                _ when bpe.AddedIds.Contains(id) => (token, UserDefined),
                _ when IsByteToken(token) => (token, Byte),
                _ => (token, Normal),
            };
        }

        gguf.Add("tokenizer.ggml.model", "llama");
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.scores", scores);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.add_space_prefix", bpe.SpacePrefix != SpacePrefix.None);
        if (bpe.UnknownId is { } unknownId)
            gguf.Add("tokenizer.ggml.unknown_token_id", (uint)unknownId);
        if (bpe.SpacePrefix == SpacePrefix.InputStart)
            warnings.Add("the tokenizer puts \"▁\" only at the start of the input (Metaspace prepend_scheme \"first\"); llama.cpp also puts it after each special token, so text right after one may tokenize differently");
    }

    private static string Padding(int id) => string.Create(CultureInfo.InvariantCulture, $"[PAD{id}]");

    private static bool IsByteToken(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' && Uri.IsHexDigit(token[3]) && Uri.IsHexDigit(token[4]);

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
    private static void AddSpecialTokens(GgufWriter gguf, HfTokenizer tokenizer, ModelConfig? config)
    {
        int? bos = tokenizer.BosTokenId ?? config?.BosTokenId?.FirstOrDefault();
        int? eos = tokenizer.EosTokenId ?? config?.EosTokenId?.FirstOrDefault();
        int? pad = tokenizer.PadTokenId ?? config?.PadTokenId?.FirstOrDefault();
        if (bos is { } b)
            gguf.Add("tokenizer.ggml.bos_token_id", (uint)b);
        if (eos is { } e)
            gguf.Add("tokenizer.ggml.eos_token_id", (uint)e);
        if (pad is { } p)
            gguf.Add("tokenizer.ggml.padding_token_id", (uint)p);
        var otherEnds = (config?.EosTokenId ?? []).Where(id => id != eos).Distinct().ToList();
        if (otherEnds.Count > 0)
            gguf.Add("tokenizer.ggml.eot_token_id", (uint)otherEnds[0]);
        if (otherEnds.Count > 1)
            gguf.Add("tokenizer.ggml.eom_token_id", (uint)otherEnds[1]);

        gguf.Add("tokenizer.ggml.add_bos_token", bos is not null && tokenizer.SpecialPrefixIds is [var first, ..] && first == bos);
        gguf.Add("tokenizer.ggml.add_eos_token", eos is not null && tokenizer.SpecialSuffixIds is [.., var last] && last == eos);
    }

    /// <summary>Added tokens that some models forget to mark special, as llama.cpp's converter recognises them.</summary>
    private static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal))
        || (token.StartsWith("<｜", StringComparison.Ordinal) && token.EndsWith("｜>", StringComparison.Ordinal))
        || (token.StartsWith("<unused", StringComparison.Ordinal) && token.EndsWith('>'));
}
