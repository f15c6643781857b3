using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json describing a BPE tokenizer, byte-level (GPT-2, Llama 3, Qwen2/3) or
/// SentencePiece-style (Llama 2, Mistral), and refuses, with a <see cref="TokenizerLoadException"/>, anything whose
/// behaviour this project does not reproduce exactly.
/// </summary>
internal static partial class TokenizerJson
{
    private const string SupportedNormalizers =
        "null, NFC, NFD, NFKC, NFKD, Prepend, Replace (String pattern), or a Sequence of these";
    private const string SupportedPreTokenizers =
        "ByteLevel, or a Sequence of Split (Regex or String pattern, behavior Isolated, invert false) steps ending in ByteLevel; " +
        "for SentencePiece-style BPE, null or Metaspace";
    private const string SupportedPostProcessors = "null, ByteLevel, TemplateProcessing, or a Sequence of these";

    public static TokenizerDefinition Read(string path)
    {
        using var document = ParseFile(path);
        var reader = new Reader(path);
        return reader.Read(document.RootElement);
    }

    internal static JsonDocument ParseFile(string path)
    {
        if (!File.Exists(path))
            throw new TokenizerLoadException(path, "file not found.");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"invalid JSON: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException(path, $"cannot be read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TokenizerLoadException(path, $"cannot be read: {e.Message}", e);
        }
    }

    private sealed partial class Reader(string path)
    {
        public TokenizerDefinition Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw Error("the top level must be a JSON object.");

            var model = root.TryGetProperty("model", out var modelElement) && modelElement.ValueKind == JsonValueKind.Object
                ? modelElement
                : throw Error("\"model\" is missing.");
            CheckModel(model);

            var bpe = new BpeModelDefinition(
                ReadVocab(model),
                ReadMerges(model),
                IgnoreMerges: OptionalBool(model, "ignore_merges") ?? false,
                UnknownToken: OptionalString(model, "unk_token"),
                FuseUnknownTokens: OptionalBool(model, "fuse_unk") ?? false,
                ByteFallback: OptionalBool(model, "byte_fallback") ?? false);
            var preTokenizer = Property(root, "pre_tokenizer");
            PreTokenizerPipeline? byteLevelPreTokenizer = null;
            ITokenModel bpeModel;
            var normalizer = ReadNormalizer(Property(root, "normalizer"), "normalizer");
            var spacePrefix = SpacePrefix.None;
            if (IsSentencePieceStyle(preTokenizer))
            {
                var sentencePiece = ReadSentencePieceStyleModel(root, bpe, preTokenizer);
                bpeModel = sentencePiece;
                spacePrefix = normalizer.Steps.OfType<TextNormalizer.Prepend>().Any(p => p.Prefix == "▁") ? SpacePrefix.EverySegment
                    : sentencePiece.PrependScheme switch
                    {
                        PrependScheme.Always => SpacePrefix.EverySegment,
                        PrependScheme.First => SpacePrefix.InputStart,
                        _ => SpacePrefix.None,
                    };
            }
            else
            {
                byteLevelPreTokenizer = ReadPreTokenizer(preTokenizer!.Value);
                bpeModel = ReadByteLevelModel(root, bpe, byteLevelPreTokenizer);
            }
            return new TokenizerDefinition(
                bpe.Vocab,
                bpeModel,
                ReadAddedTokens(root),
                normalizer,
                ReadPostProcessor(Property(root, "post_processor")),
                bpe,
                byteLevelPreTokenizer,
                spacePrefix);
        }

        private ByteLevelBpeModel ReadByteLevelModel(JsonElement root, BpeModelDefinition bpe, PreTokenizerPipeline preTokenizer)
        {
            if (bpe.ByteFallback)
                throw Error("model.byte_fallback is not supported with a ByteLevel pre_tokenizer (every byte is a token there); " +
                            "it is supported in SentencePiece-style BPE, whose pre_tokenizer is null or Metaspace.");
            RequireByteLevelDecoder(root);
            return new ByteLevelBpeModel(bpe, preTokenizer, path);
        }

        private void CheckModel(JsonElement model)
        {
            var type = OptionalString(model, "type");
            if (type is null && !model.TryGetProperty("merges", out _))
                throw Error("model has no \"type\"; only \"BPE\" models are supported.");
            if (type is not null and not "BPE")
                throw Error($"model type \"{type}\" is not supported; only \"BPE\" models are.");
            if (Property(model, "dropout") is { ValueKind: JsonValueKind.Number } dropout && dropout.GetDouble() != 0)
                throw Error("model.dropout is not supported (it makes encoding random); only null or 0 is.");
            foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            {
                if (OptionalString(model, affix) is { Length: > 0 } value)
                    throw Error($"model.{affix} \"{value}\" is not supported; only null or \"\" is.");
            }
        }

        private Dictionary<string, int> ReadVocab(JsonElement model)
        {
            if (Property(model, "vocab") is not { ValueKind: JsonValueKind.Object } vocabElement)
                throw Error("model.vocab must be an object mapping tokens to ids.");

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in vocabElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                    throw Error($"model.vocab[\"{entry.Name}\"] must be a non-negative integer id.");
                vocab[entry.Name] = id;
            }

            if (vocab.Count == 0)
                throw Error("model.vocab is empty.");
            return vocab;
        }

        private List<string> ReadMerges(JsonElement model)
        {
            var merges = new List<string>();
            if (Property(model, "merges") is not { ValueKind: JsonValueKind.Array } mergesElement)
                return merges;

            merges.Capacity = mergesElement.GetArrayLength();
            foreach (var merge in mergesElement.EnumerateArray())
            {
                string left, right;
                if (merge.ValueKind == JsonValueKind.String)
                {
                    var text = merge.GetString()!;
                    var space = text.IndexOf(' ', StringComparison.Ordinal);
                    if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                        throw Error($"model.merges entry \"{text}\" is not of the form \"left right\".");
                    left = text[..space];
                    right = text[(space + 1)..];
                }
                else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                         && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                {
                    left = merge[0].GetString()!;
                    right = merge[1].GetString()!;
                    // The BPE engine takes merges as "left right" strings, so a space inside a part cannot be expressed.
                    if (left.Length == 0 || right.Length == 0 || left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
                        throw Error($"model.merges pair [\"{left}\", \"{right}\"] has an empty part or a space, which is not supported.");
                }
                else
                {
                    throw Error($"model.merges entries must be \"left right\" strings or [left, right] pairs, found {merge.GetRawText()}.");
                }

                merges.Add(string.Concat(left, " ", right));
            }

            return merges;
        }

        private List<AddedToken> ReadAddedTokens(JsonElement root)
        {
            var tokens = new List<AddedToken>();
            if (Property(root, "added_tokens") is not { ValueKind: JsonValueKind.Array } array)
                return tokens;

            foreach (var entry in array.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || Property(entry, "id") is not { ValueKind: JsonValueKind.Number } idElement
                    || !idElement.TryGetInt32(out var id) || id < 0
                    || OptionalString(entry, "content") is not { Length: > 0 } content)
                {
                    throw Error($"added_tokens entry {entry.GetRawText()} needs a non-negative \"id\" and a non-empty \"content\".");
                }

                tokens.Add(new AddedToken(
                    id,
                    content,
                    Special: OptionalBool(entry, "special") ?? false,
                    SingleWord: OptionalBool(entry, "single_word") ?? false,
                    LeftStrip: OptionalBool(entry, "lstrip") ?? false,
                    RightStrip: OptionalBool(entry, "rstrip") ?? false,
                    Normalized: OptionalBool(entry, "normalized") ?? !(OptionalBool(entry, "special") ?? false)));
            }

            return tokens;
        }

        private TextNormalizer ReadNormalizer(JsonElement? element, string where)
        {
            if (element is null)
                return TextNormalizer.None;

            var steps = new List<TextNormalizer.IStep>();
            AddNormalizerSteps(element.Value, where, steps);
            return new TextNormalizer(steps);
        }

        private void AddNormalizerSteps(JsonElement element, string where, List<TextNormalizer.IStep> steps)
        {
            var type = OptionalString(element, "type");
            switch (type)
            {
                case "NFC": steps.Add(new TextNormalizer.UnicodeForm(NormalizationForm.FormC)); break;
                case "NFD": steps.Add(new TextNormalizer.UnicodeForm(NormalizationForm.FormD)); break;
                case "NFKC": steps.Add(new TextNormalizer.UnicodeForm(NormalizationForm.FormKC)); break;
                case "NFKD": steps.Add(new TextNormalizer.UnicodeForm(NormalizationForm.FormKD)); break;
                case "Prepend":
                    steps.Add(new TextNormalizer.Prepend(OptionalString(element, "prepend")
                        ?? throw Error($"{where}: Prepend needs a string \"prepend\".")));
                    break;
                case "Replace":
                    var (pattern, content) = ReadLiteralReplace(element, where);
                    steps.Add(new TextNormalizer.Replace(pattern, content));
                    break;
                case "Sequence" when Property(element, "normalizers") is { ValueKind: JsonValueKind.Array } children:
                    var index = 0;
                    foreach (var child in children.EnumerateArray())
                        AddNormalizerSteps(child, $"{where}.normalizers[{index++}]", steps);
                    break;
                default:
                    throw Error($"{where} of type \"{type}\" is not supported; supported: {SupportedNormalizers}.");
            }
        }

        private PreTokenizerPipeline ReadPreTokenizer(JsonElement element)
        {
            var steps = new List<PreTokenizerPipeline.IStep>();
            AddPreTokenizerSteps(element, "pre_tokenizer", steps);

            var byteLevelIndex = steps.FindIndex(step => step is PreTokenizerPipeline.ByteLevelSplit);
            if (byteLevelIndex < 0 || byteLevelIndex != steps.Count - 1
                || steps.Count(step => step is PreTokenizerPipeline.ByteLevelSplit) != 1)
            {
                throw Error($"pre_tokenizer must contain exactly one ByteLevel step, as its last step; supported: {SupportedPreTokenizers}.");
            }

            return new PreTokenizerPipeline(steps);
        }

        private void AddPreTokenizerSteps(JsonElement element, string where, List<PreTokenizerPipeline.IStep> steps)
        {
            var type = OptionalString(element, "type");
            switch (type)
            {
                case "Sequence" when Property(element, "pretokenizers") is { ValueKind: JsonValueKind.Array } children:
                    var index = 0;
                    foreach (var child in children.EnumerateArray())
                        AddPreTokenizerSteps(child, $"{where}.pretokenizers[{index++}]", steps);
                    break;
                case "Split":
                    steps.Add(ReadSplit(element, where));
                    break;
                case "ByteLevel":
                    var useRegex = OptionalBool(element, "use_regex") ?? true;
                    steps.Add(new PreTokenizerPipeline.ByteLevelSplit(
                        OptionalBool(element, "add_prefix_space") ?? true,
                        useRegex ? CompileRegex(PreTokenizerRegex.Gpt2Pattern, where) : null));
                    break;
                default:
                    throw Error($"{where} of type \"{type}\" is not supported; supported: {SupportedPreTokenizers}.");
            }
        }

        private PreTokenizerPipeline.IsolatedRegexSplit ReadSplit(JsonElement element, string where)
        {
            var behavior = OptionalString(element, "behavior");
            if (behavior != "Isolated" || OptionalBool(element, "invert") == true)
                throw Error($"{where}: Split with behavior \"{behavior}\" and invert {OptionalBool(element, "invert")} is not supported; only behavior \"Isolated\" with invert false is.");

            var pattern = Property(element, "pattern");
            if (pattern is { ValueKind: JsonValueKind.Object } && OptionalString(pattern.Value, "Regex") is { } regex)
                return new PreTokenizerPipeline.IsolatedRegexSplit(CompileRegex(regex, where));
            if (pattern is { ValueKind: JsonValueKind.Object } && OptionalString(pattern.Value, "String") is { Length: > 0 } literal)
                return new PreTokenizerPipeline.IsolatedRegexSplit(CompileRegex(EscapeOniguruma(literal), where));
            throw Error($"{where}: Split needs a pattern {{\"Regex\": ...}} or {{\"String\": ...}}.");
        }

        private PreTokenizerRegex CompileRegex(string pattern, string where)
        {
            try
            {
                return new PreTokenizerRegex(pattern);
            }
            catch (ArgumentException e)
            {
                throw new TokenizerLoadException(path, $"{where}: the regex {pattern} cannot be translated to .NET: {e.Message}", e);
            }
        }

        private PostProcessorTemplate? ReadPostProcessor(JsonElement? element)
        {
            PostProcessorTemplate? template = null;
            if (element is not null)
                AddPostProcessor(element.Value, "post_processor", ref template);
            return template;
        }

        private void AddPostProcessor(JsonElement element, string where, ref PostProcessorTemplate? template)
        {
            var type = OptionalString(element, "type");
            switch (type)
            {
                case "ByteLevel":
                    break; // It only adjusts offsets, never ids.
                case "Sequence" when Property(element, "processors") is { ValueKind: JsonValueKind.Array } children:
                    var index = 0;
                    foreach (var child in children.EnumerateArray())
                        AddPostProcessor(child, $"{where}.processors[{index++}]", ref template);
                    break;
                case "TemplateProcessing" when template is null:
                    template = ReadTemplate(element, where);
                    break;
                default:
                    throw Error($"{where} of type \"{type}\" is not supported (or repeated); supported: {SupportedPostProcessors}.");
            }
        }

        private PostProcessorTemplate ReadTemplate(JsonElement element, string where)
        {
            if (Property(element, "single") is not { ValueKind: JsonValueKind.Array } single)
                throw Error($"{where}: TemplateProcessing needs a \"single\" template.");

            var specialTokens = Property(element, "special_tokens");
            var prefix = new List<int>();
            var suffix = new List<int>();
            var sequenceSeen = false;
            foreach (var piece in single.EnumerateArray())
            {
                if (Property(piece, "Sequence") is not null)
                {
                    if (sequenceSeen)
                        throw Error($"{where}: a single template with more than one Sequence is not supported.");
                    sequenceSeen = true;
                }
                else if (Property(piece, "SpecialToken") is { } special && OptionalString(special, "id") is { } name)
                {
                    (sequenceSeen ? suffix : prefix).AddRange(TemplateTokenIds(specialTokens, name, where));
                }
                else
                {
                    throw Error($"{where}: template piece {piece.GetRawText()} is not supported.");
                }
            }

            if (!sequenceSeen)
                throw Error($"{where}: the single template has no Sequence.");
            return new PostProcessorTemplate(prefix, suffix);
        }

        private List<int> TemplateTokenIds(JsonElement? specialTokens, string name, string where)
        {
            if (specialTokens is { ValueKind: JsonValueKind.Object } map
                && Property(map, name) is { } token
                && Property(token, "ids") is { ValueKind: JsonValueKind.Array } ids)
            {
                return ids.EnumerateArray().Select(id => id.GetInt32()).ToList();
            }

            throw Error($"{where}: special token \"{name}\" of the template is missing from special_tokens.");
        }

        private void RequireByteLevelDecoder(JsonElement root)
        {
            var decoder = Property(root, "decoder");
            var type = decoder is null ? null : OptionalString(decoder.Value, "type");
            if (type != "ByteLevel")
                throw Error($"decoder of type \"{type ?? "null"}\" is not supported with a ByteLevel pre_tokenizer; only ByteLevel is.");
        }

        private TokenizerLoadException Error(string message) => new(path, message);

        /// <summary>The property's value, or null when it is absent or JSON null.</summary>
        private static JsonElement? Property(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
                ? value
                : null;

        private static string? OptionalString(JsonElement element, string name) =>
            Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

        private static bool? OptionalBool(JsonElement element, string name) =>
            Property(element, name) is { ValueKind: JsonValueKind.True or JsonValueKind.False } value ? value.GetBoolean() : null;

        private static string EscapeOniguruma(string literal)
        {
            var escaped = new StringBuilder(literal.Length * 2);
            foreach (var c in literal)
            {
                if ("\\^$.|?*+()[]{}".Contains(c, StringComparison.Ordinal))
                    escaped.Append('\\');
                escaped.Append(c);
            }

            return escaped.ToString();
        }
    }
}
