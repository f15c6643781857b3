using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Reads a tiktoken tokenizer.model the way THUDM's ChatGLM4Tokenizer (glm-4-9b-chat's tokenization_chatglm.py) does:
/// its pat_str; no special tokens in the vocabulary itself (tokenizer_config.json's added_tokens_decoder lists them, with
/// ids after the ranks, and transformers finds them in the text before tiktoken runs); [gMASK] and &lt;sop&gt; before
/// the text when special tokens are added.
/// </summary>
/// <remarks>
/// Decoding puts special tokens in as written, as tiktoken and glm-4-9b-chat-hf's tokenizer.json do. transformers'
/// slow decode of ChatGLM4Tokenizer would put a space between each special token and its neighbours
/// (spaces_between_special_tokens, as their ids are at or above vocab_size); with skip_special_tokens both agree.
/// </remarks>
internal static class TiktokenModelFile
{
    /// <summary>tokenization_chatglm.py's pat_str (the pattern of tiktoken's cl100k_base).</summary>
    public const string GlmPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>What ChatGLM4Tokenizer.get_prefix_tokens puts before the text.</summary>
    private static readonly string[] s_prefixTokens = ["[gMASK]", "<sop>"];

    private static readonly Lazy<PreTokenizerRegex> s_glmPattern = new(() => new PreTokenizerRegex(GlmPattern));

    /// <param name="content">The content of the file at <paramref name="path"/>.</param>
    /// <param name="configPath">tokenizer_config.json beside it, or null when the folder has none.</param>
    public static TokenizerDefinition Read(string path, byte[] content, TokenizerConfig config, string? configPath)
    {
        var bytesByRank = TiktokenRanks.Parse(path, content);
        if (configPath is null)
        {
            throw new TokenizerLoadException(Path.Combine(Path.GetDirectoryName(path) ?? "", HfTokenizer.ConfigFileName),
                $"not found; the tiktoken {TokenizerModelFile.FileName} beside it takes its special tokens ([gMASK], <sop>, " +
                "<|endoftext|>, …) from this file's added_tokens_decoder.");
        }

        var addedTokens = ConfigAddedTokens.Read(config).ToList();
        if (addedTokens.FirstOrDefault(token => token.Id < bytesByRank.Length && bytesByRank[token.Id] is not null) is { } clash)
        {
            throw new TokenizerLoadException(configPath, $"added_tokens_decoder gives \"{clash.Content}\" the id {clash.Id}, " +
                $"which is the rank of a token of {path}; the special tokens follow the vocabulary.");
        }

        var prefixIds = s_prefixTokens.Select(prefix => addedTokens.FirstOrDefault(token => token.Content == prefix)?.Id
            ?? throw new TokenizerLoadException(configPath, $"added_tokens_decoder has no \"{prefix}\": ChatGLM4Tokenizer " +
                $"(a tiktoken {TokenizerModelFile.FileName}) puts [gMASK] and <sop> before the text.")).ToArray();
        return new TokenizerDefinition(
            SpelledVocabulary(bytesByRank),
            new TiktokenFileModel(Create(path, bytesByRank), s_glmPattern.Value, bytesByRank),
            addedTokens,
            TextNormalizer.None,
            new PostProcessorTemplate(prefixIds, []));
    }

    /// <summary>Each token spelled in the byte-level alphabet, as tokenizer.json spells the same vocabulary (glm-4-9b-chat-hf).</summary>
    private static Dictionary<string, int> SpelledVocabulary(byte[]?[] bytesByRank)
    {
        var vocab = new Dictionary<string, int>(bytesByRank.Length, StringComparer.Ordinal);
        for (var rank = 0; rank < bytesByRank.Length; rank++)
        {
            if (bytesByRank[rank] is { } bytes)
                vocab[ByteLevelAlphabet.Spell(bytes)] = rank;
        }

        return vocab;
    }

    private static TiktokenTokenizer Create(string path, byte[]?[] bytesByRank)
    {
        // Written again as "base64 rank" lines with one space and no blank line: the only form TiktokenTokenizer reads
        // (it loops forever on a blank line), while the file may separate the fields with any whitespace.
        var lines = new StringBuilder(bytesByRank.Length * 16);
        for (var rank = 0; rank < bytesByRank.Length; rank++)
        {
            if (bytesByRank[rank] is { } bytes)
                lines.Append(Convert.ToBase64String(bytes)).Append(' ').Append(rank.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        try
        {
            using var stream = new MemoryStream(Encoding.ASCII.GetBytes(lines.ToString()), writable: false);
            return TiktokenTokenizer.Create(stream, preTokenizer: null, normalizer: null);
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerLoadException(path, $"rejected by Microsoft.ML.Tokenizers' TiktokenTokenizer: {e.Message}", e);
        }
    }
}
