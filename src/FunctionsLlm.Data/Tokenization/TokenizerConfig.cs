using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// The fields of Hugging Face <c>tokenizer_config.json</c> this project uses; everything else is kept in
/// <see cref="AdditionalProperties"/>. Token fields accept both the plain string form and the older
/// <c>{"content": "...", "__type": "AddedToken"}</c> object form.
/// </summary>
public sealed class TokenizerConfig
{
    [JsonPropertyName("tokenizer_class")]
    public string? TokenizerClass { get; set; }

    [JsonPropertyName("bos_token")]
    [JsonConverter(typeof(TokenContentConverter))]
    public string? BosToken { get; set; }

    [JsonPropertyName("eos_token")]
    [JsonConverter(typeof(TokenContentConverter))]
    public string? EosToken { get; set; }

    [JsonPropertyName("pad_token")]
    [JsonConverter(typeof(TokenContentConverter))]
    public string? PadToken { get; set; }

    [JsonPropertyName("unk_token")]
    [JsonConverter(typeof(TokenContentConverter))]
    public string? UnkToken { get; set; }

    [JsonPropertyName("additional_special_tokens")]
    [JsonConverter(typeof(TokenContentListConverter))]
    public IReadOnlyList<string>? AdditionalSpecialTokens { get; set; }

    [JsonPropertyName("add_bos_token")]
    public bool? AddBosToken { get; set; }

    [JsonPropertyName("add_eos_token")]
    public bool? AddEosToken { get; set; }

    [JsonPropertyName("add_prefix_space")]
    public bool? AddPrefixSpace { get; set; }

    /// <summary>When true, special tokens written in the text are encoded as ordinary text.</summary>
    [JsonPropertyName("split_special_tokens")]
    public bool? SplitSpecialTokens { get; set; }

    [JsonPropertyName("clean_up_tokenization_spaces")]
    public bool? CleanUpTokenizationSpaces { get; set; }

    /// <summary>Some configs store a huge sentinel (1e30) here, hence a double.</summary>
    [JsonPropertyName("model_max_length")]
    public double? ModelMaxLength { get; set; }

    [JsonPropertyName("padding_side")]
    public string? PaddingSide { get; set; }

    /// <summary>
    /// transformers' LlamaTokenizer: false puts SentencePiece's "▁" only before the start of the text, not after every
    /// added token. Only a tokenizer.model reads it (with tokenizer.json, the file decides, as in transformers).
    /// </summary>
    [JsonPropertyName("legacy")]
    public bool? Legacy { get; set; }

    /// <summary>Added tokens by id, as transformers writes them beside a tokenizer.model.</summary>
    [JsonPropertyName("added_tokens_decoder")]
    public Dictionary<string, AddedTokenConfig>? AddedTokensDecoder { get; set; }

    /// <summary>The default chat template (when the file holds a list of named templates, the one named "default").</summary>
    [JsonPropertyName("chat_template")]
    [JsonConverter(typeof(ChatTemplateConverter))]
    public string? ChatTemplate { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; set; }
}

/// <summary>An entry of tokenizer_config.json <c>added_tokens_decoder</c>.</summary>
public sealed class AddedTokenConfig
{
    [JsonPropertyName("content")]
    public string? Content { get; set; }

    [JsonPropertyName("special")]
    public bool Special { get; set; }

    [JsonPropertyName("lstrip")]
    public bool LeftStrip { get; set; }

    [JsonPropertyName("rstrip")]
    public bool RightStrip { get; set; }

    [JsonPropertyName("single_word")]
    public bool SingleWord { get; set; }
}
