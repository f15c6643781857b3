using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A Hugging Face BPE tokenizer, byte-level (Llama 3, Qwen2/3, GPT-2 style) or SentencePiece-style (Llama 2, Mistral,
/// TinyLlama), loaded from tokenizer.json or tokenizer.model (SentencePiece, or tiktoken for glm-4-9b-chat) and
/// tokenizer_config.json, producing the same ids as the reference implementations. Thread-safe after loading.
/// </summary>
/// <remarks>
/// Added tokens and normalization are done here, pre-tokenization and byte fallback by the <see cref="ITokenModel"/>,
/// following the tokenizers library; the Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> only applies the merges to
/// one piece at a time.
/// </remarks>
public sealed class HfTokenizer
{
    public const string TokenizerFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    private readonly ITokenModel _model;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string?[] _idToToken;
    private readonly HashSet<int> _specialIds;
    private readonly HashSet<int> _addedTokenIds;
    private readonly TextNormalizer _normalizer;
    private readonly AddedTokenSplitter _rawTextSplitter;
    private readonly AddedTokenSplitter _normalizedTextSplitter;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;

    private HfTokenizer(TokenizerDefinition definition, TokenizerConfig config, string? configPath)
    {
        Config = config;
        _model = definition.Model;
        _normalizer = definition.Normalizer;
        _tokenToId = new Dictionary<string, int>(definition.Vocab, StringComparer.Ordinal);
        var specialTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        _specialIds = [];
        _addedTokenIds = [];
        foreach (var token in definition.AddedTokens)
        {
            _tokenToId[token.Content] = token.Id;
            _addedTokenIds.Add(token.Id);
            if (token.Special)
            {
                specialTokens[token.Content] = token.Id;
                _specialIds.Add(token.Id);
            }
        }

        SpecialTokens = specialTokens;
        _idToToken = BuildIdToToken(definition);
        VocabSize = _idToToken.Count(token => token is not null);

        // split_special_tokens: special tokens written in the text are then encoded as ordinary text.
        var recognised = definition.AddedTokens.Where(token => !(token.Special && config.SplitSpecialTokens == true)).ToList();
        _rawTextSplitter = new AddedTokenSplitter(recognised.Where(token => !token.Normalized), token => token.Content);
        _normalizedTextSplitter = new AddedTokenSplitter(
            recognised.Where(token => token.Normalized), token => _normalizer.Normalize(token.Content));

        BosTokenId = ResolveConfigToken(config.BosToken, "bos_token", configPath);
        EosTokenId = ResolveConfigToken(config.EosToken, "eos_token", configPath);
        PadTokenId = ResolveConfigToken(config.PadToken, "pad_token", configPath);
        (_prefixIds, _suffixIds) = SpecialTokenFrame(definition.Template, config);
        Bpe = definition.Bpe is { } bpe
            ? new BpeVocabulary(
                ByteLevel: definition.ByteLevelPreTokenizer is not null,
                Tokens: _idToToken,
                Merges: bpe.Merges,
                SplitPatterns: definition.ByteLevelPreTokenizer?.SplitPatterns ?? [],
                AddPrefixSpace: definition.ByteLevelPreTokenizer?.AddPrefixSpace ?? false,
                IgnoreMerges: bpe.IgnoreMerges,
                SpecialIds: _specialIds,
                AddedIds: _addedTokenIds,
                SpacePrefix: definition.SpacePrefix,
                UnknownId: bpe.UnknownToken is { } unknown && definition.Vocab.TryGetValue(unknown, out int unknownId) ? unknownId : null)
            : null;
    }

    public TokenizerConfig Config { get; }

    /// <summary>Number of distinct token ids: the model vocabulary plus added tokens (Hugging Face's <c>len(tokenizer)</c>).
    /// The model's embedding matrix may be larger.</summary>
    public int VocabSize { get; }

    public string? BosToken => Config.BosToken;

    public string? EosToken => Config.EosToken;

    public string? PadToken => Config.PadToken;

    public int? BosTokenId { get; }

    public int? EosTokenId { get; }

    public int? PadTokenId { get; }

    public string? ChatTemplate => Config.ChatTemplate;

    /// <summary>The vocabulary, merges and pre-tokenizer of a tokenizer.json BPE tokenizer; null for tokenizer.model and tiktoken files.</summary>
    public BpeVocabulary? Bpe { get; }

    /// <summary>The added tokens marked special, by content.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>
    /// Loads <c>tokenizer.json</c>, or, in a folder without one, a <c>tokenizer.model</c> (SentencePiece, or tiktoken
    /// as glm-4-9b-chat ships it), and, when present, <c>tokenizer_config.json</c> from a model folder.
    /// </summary>
    public static HfTokenizer Load(string modelDir)
    {
        ArgumentNullException.ThrowIfNull(modelDir);
        var configPath = Path.Combine(modelDir, ConfigFileName);
        var existingConfigPath = File.Exists(configPath) ? configPath : null;
        var tokenizerJsonPath = Path.Combine(modelDir, TokenizerFileName);
        var tokenizerModelPath = Path.Combine(modelDir, TokenizerModelFile.FileName);
        if (!File.Exists(tokenizerJsonPath) && File.Exists(tokenizerModelPath))
        {
            var config = existingConfigPath is null ? new TokenizerConfig() : ReadConfig(existingConfigPath);
            return new HfTokenizer(TokenizerModelFile.Read(tokenizerModelPath, config, existingConfigPath), config, existingConfigPath);
        }

        return Load(tokenizerJsonPath, existingConfigPath);
    }

    /// <exception cref="TokenizerLoadException">A file is missing or invalid, or describes an unsupported tokenizer.</exception>
    public static HfTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        var config = tokenizerConfigPath is null ? new TokenizerConfig() : ReadConfig(tokenizerConfigPath);
        var definition = TokenizerJson.Read(tokenizerJsonPath);
        return new HfTokenizer(definition, config, tokenizerConfigPath);
    }

    /// <summary>
    /// Encodes text; added tokens written in it (such as <c>&lt;|im_start|&gt;</c>) become their ids.
    /// With <paramref name="addSpecialTokens"/>, the post-processor's template (e.g. Llama 3's BOS) is applied, or,
    /// without a template, BOS/EOS as tokenizer_config.json's add_bos_token/add_eos_token ask.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addSpecialTokens)
            ids.AddRange(_prefixIds);

        var startsInput = true;
        foreach (var rawSegment in _rawTextSplitter.Split(text))
        {
            if (rawSegment.Token is { } rawToken)
            {
                ids.Add(rawToken.Id);
                startsInput = false;
                continue;
            }

            foreach (var segment in _normalizedTextSplitter.Split(_normalizer.Normalize(rawSegment.Text)))
            {
                if (segment.Token is { } token)
                    ids.Add(token.Id);
                else
                    _model.Encode(segment.Text, startsInput, ids);
                startsInput = false;
            }
        }

        if (addSpecialTokens)
            ids.AddRange(_suffixIds);
        return ids;
    }

    public int CountTokens(string text) => Encode(text).Count;

    /// <summary>
    /// Decodes ids to text like the tokenizers library: model tokens become their bytes (the byte-level alphabet, or
    /// "▁" as a space and <c>&lt;0xNN&gt;</c> as a byte; invalid UTF-8 becomes U+FFFD), added tokens are inserted as
    /// written, and a SentencePiece-style decoder removes the space put before the text. Ids that are no token (e.g.
    /// embedding padding rows) are skipped, as Hugging Face does.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var pendingBytes = new List<byte>();
        var firstToken = true;
        foreach (var id in ids)
        {
            if (DecodeToken(id, skipSpecialTokens, firstToken, pendingBytes) is not { } decoded)
                continue;
            firstToken = false;
            if (decoded.AddedToken is { } addedToken)
            {
                text.Append(Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(pendingBytes))).Append(addedToken);
                pendingBytes.Clear();
            }
        }

        text.Append(Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(pendingBytes)));
        var strip = 0;
        while (strip < LeadingSpacesToStrip && strip < text.Length && text[strip] == ' ')
            strip++;
        return text.Remove(0, strip).ToString();
    }

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out var id) ? id : null;
    }

    /// <summary>The token as spelled in the vocabulary (e.g. "Ġhello" byte-level, "▁hello" SentencePiece-style), or an added token's content.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>The ids <see cref="Encode"/> puts before the text when adding special tokens (e.g. BOS).</summary>
    public IReadOnlyList<int> SpecialPrefixIds => _prefixIds;

    /// <summary>The ids <see cref="Encode"/> puts after the text when adding special tokens (e.g. EOS).</summary>
    public IReadOnlyList<int> SpecialSuffixIds => _suffixIds;

    /// <summary>The number of UTF-8 bytes of text a token stands for (0 for an unknown id).</summary>
    internal int TokenByteLength(int id)
    {
        if (IdToToken(id) is not { } token)
            return 0;
        return _addedTokenIds.Contains(id) ? Encoding.UTF8.GetByteCount(token) : _model.ByteCount(id, token);
    }

    /// <summary>How many spaces the decoder removes from the start of the decoded text (SentencePiece's Strip).</summary>
    internal int LeadingSpacesToStrip => _model.Decoding.LeadingSpacesToStrip;

    /// <summary>The bytes one token stands for, not as the first token (a byte-level or <c>&lt;0xNN&gt;</c> token may hold
    /// part of a UTF-8 character; "▁" is a space); empty for unknown ids.</summary>
    public byte[] TokenBytes(int id)
    {
        var bytes = new List<byte>();
        return DecodeToken(id, skipSpecialTokens: false, firstToken: false, bytes) is { AddedToken: { } added }
            ? Encoding.UTF8.GetBytes(added)
            : [.. bytes];
    }

    /// <summary>What one decoding step did: a model token appended its bytes (<see cref="AddedToken"/> null), or an
    /// added token is to be placed, as written, after the pending bytes.</summary>
    internal readonly record struct DecodedToken(string? AddedToken);

    /// <summary>
    /// One decoding step: a model token appends its bytes to <paramref name="pendingBytes"/>; an added token is returned
    /// to be placed after them. Unknown ids and skipped special tokens return null: they are no token to the decoder.
    /// </summary>
    /// <param name="firstToken">No token was decoded before this one (the Metaspace decoder treats the first differently).</param>
    internal DecodedToken? DecodeToken(int id, bool skipSpecialTokens, bool firstToken, List<byte> pendingBytes)
    {
        if (IdToToken(id) is not { } token || (skipSpecialTokens && _specialIds.Contains(id)))
            return null;
        if (_addedTokenIds.Contains(id))
            return new DecodedToken(token);
        _model.AppendBytes(id, token, firstToken, pendingBytes);
        return new DecodedToken(null);
    }

    private int? ResolveConfigToken(string? token, string field, string? configPath)
    {
        if (token is null)
            return null;
        return TokenToId(token) ?? throw new TokenizerLoadException(
            configPath ?? ConfigFileName, $"{field} \"{token}\" is not a token of the tokenizer.");
    }

    private (int[] Prefix, int[] Suffix) SpecialTokenFrame(PostProcessorTemplate? template, TokenizerConfig config)
    {
        if (template is not null)
            return ([.. template.PrefixIds], [.. template.SuffixIds]);
        int[] prefix = config.AddBosToken == true && BosTokenId is { } bos ? [bos] : [];
        int[] suffix = config.AddEosToken == true && EosTokenId is { } eos ? [eos] : [];
        return (prefix, suffix);
    }

    private static string?[] BuildIdToToken(TokenizerDefinition definition)
    {
        var maxId = definition.Vocab.Values.Max();
        foreach (var token in definition.AddedTokens)
            maxId = Math.Max(maxId, token.Id);

        var idToToken = new string?[maxId + 1];
        foreach (var (token, id) in definition.Vocab)
            idToToken[id] = token;
        foreach (var token in definition.AddedTokens)
            idToToken[token.Id] = token.Content;
        return idToToken;
    }

    private static TokenizerConfig ReadConfig(string path)
    {
        using var document = TokenizerJson.ParseFile(path);
        try
        {
            return document.RootElement.Deserialize(TokenizerConfigJsonContext.Default.TokenizerConfig)
                ?? throw new TokenizerLoadException(path, "the file holds null instead of an object.");
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"unexpected content: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerLoadException(path, $"unexpected content: {e.Message}", e);
        }
    }
}
