using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (Llama 3, Qwen2/3, GPT-2 style) loaded from tokenizer.json and
/// tokenizer_config.json, producing the same ids as the reference implementations. Thread-safe after loading.
/// </summary>
/// <remarks>
/// Added tokens, normalization and pre-tokenization are done here, following the tokenizers library; the
/// Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> only applies the merges to one pre-tokenized piece at a time.
/// </remarks>
public sealed class HfTokenizer
{
    public const string TokenizerFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _modelVocab;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string?[] _idToToken;
    private readonly HashSet<int> _specialIds;
    private readonly HashSet<int> _addedTokenIds;
    private readonly bool _ignoreMerges;
    private readonly UnicodeNormalizer _normalizer;
    private readonly PreTokenizerPipeline _preTokenizer;
    private readonly AddedTokenSplitter _rawTextSplitter;
    private readonly AddedTokenSplitter _normalizedTextSplitter;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;

    private HfTokenizer(TokenizerDefinition definition, TokenizerConfig config, string tokenizerJsonPath, string? configPath)
    {
        Config = config;
        _modelVocab = definition.Vocab;
        _ignoreMerges = definition.IgnoreMerges;
        _normalizer = definition.Normalizer;
        _preTokenizer = definition.PreTokenizer;

        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(definition.Vocab)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                UnknownToken = definition.UnknownToken,
                FuseUnknownTokens = definition.FuseUnknownTokens,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerLoadException(tokenizerJsonPath, $"model.merges: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerLoadException(tokenizerJsonPath, $"model: {e.Message}", e);
        }

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

    /// <summary>The added tokens marked special, by content.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Loads <c>tokenizer.json</c> and, when present, <c>tokenizer_config.json</c> from a model folder.</summary>
    public static HfTokenizer Load(string modelDir)
    {
        ArgumentNullException.ThrowIfNull(modelDir);
        var configPath = Path.Combine(modelDir, ConfigFileName);
        return Load(Path.Combine(modelDir, TokenizerFileName), File.Exists(configPath) ? configPath : null);
    }

    /// <exception cref="TokenizerLoadException">A file is missing or invalid, or describes an unsupported tokenizer.</exception>
    public static HfTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        var config = tokenizerConfigPath is null ? new TokenizerConfig() : ReadConfig(tokenizerConfigPath);
        var definition = TokenizerJson.Read(tokenizerJsonPath);
        return new HfTokenizer(definition, config, tokenizerJsonPath, tokenizerConfigPath);
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

        foreach (var rawSegment in _rawTextSplitter.Split(text))
        {
            if (rawSegment.Token is { } rawToken)
            {
                ids.Add(rawToken.Id);
                continue;
            }

            foreach (var segment in _normalizedTextSplitter.Split(_normalizer.Normalize(rawSegment.Text)))
            {
                if (segment.Token is { } token)
                    ids.Add(token.Id);
                else
                    EncodeOrdinaryText(segment.Text, ids);
            }
        }

        if (addSpecialTokens)
            ids.AddRange(_suffixIds);
        return ids;
    }

    public int CountTokens(string text) => Encode(text).Count;

    /// <summary>
    /// Decodes ids to text like the tokenizers library: model tokens go through the ByteLevel decoder (invalid UTF-8
    /// becomes U+FFFD) and added tokens are inserted as written. Ids that are no token (e.g. embedding padding rows)
    /// are skipped, as Hugging Face does.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var pendingBytes = new List<byte>();
        foreach (var id in ids)
        {
            if (DecodeToken(id, skipSpecialTokens, pendingBytes) is { } addedToken)
            {
                text.Append(Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(pendingBytes))).Append(addedToken);
                pendingBytes.Clear();
            }
        }

        return text.Append(Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(pendingBytes))).ToString();
    }

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out var id) ? id : null;
    }

    /// <summary>The token as spelled in the vocabulary (byte-level alphabet, e.g. "Ġhello"), or an added token's content.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>How many tokens <see cref="Encode"/> puts before the text when adding special tokens (e.g. BOS).</summary>
    internal int AddedPrefixLength => _prefixIds.Length;

    /// <summary>The number of UTF-8 bytes of text a token stands for (0 for an unknown id).</summary>
    internal int TokenByteLength(int id)
    {
        if (IdToToken(id) is not { } token)
            return 0;
        return _addedTokenIds.Contains(id) ? Encoding.UTF8.GetByteCount(token) : ByteLevelAlphabet.ByteCount(token);
    }

    /// <summary>The bytes one token stands for (a byte-level token may hold part of a UTF-8 character); empty for unknown ids.</summary>
    public byte[] TokenBytes(int id)
    {
        var bytes = new List<byte>();
        return DecodeToken(id, skipSpecialTokens: false, bytes) is { } added ? System.Text.Encoding.UTF8.GetBytes(added) : [.. bytes];
    }

    /// <summary>
    /// One decoding step: a model token appends its bytes to <paramref name="pendingBytes"/> and returns null; an added
    /// token returns its content, to be placed after the pending bytes. Unknown ids and skipped special tokens do nothing.
    /// </summary>
    internal string? DecodeToken(int id, bool skipSpecialTokens, List<byte> pendingBytes)
    {
        if (IdToToken(id) is not { } token || (skipSpecialTokens && _specialIds.Contains(id)))
            return null;
        if (_addedTokenIds.Contains(id))
            return token;
        ByteLevelAlphabet.AppendBytes(token, pendingBytes);
        return null;
    }

    private void EncodeOrdinaryText(string text, List<int> ids)
    {
        foreach (var piece in _preTokenizer.Split(text))
        {
            // ignore_merges (Llama 3): a piece that is itself a vocabulary entry is that entry, whatever the merges say.
            if (_ignoreMerges && _modelVocab.TryGetValue(ByteLevelAlphabet.Encode(piece), out var id))
            {
                ids.Add(id);
                continue;
            }

            ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
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
