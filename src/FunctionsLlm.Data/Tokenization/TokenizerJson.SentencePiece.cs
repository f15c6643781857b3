using System.Text.Json;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>The parts of tokenizer.json that only SentencePiece-style BPE (Llama 2, Mistral, TinyLlama) has.</summary>
internal static partial class TokenizerJson
{
    private const string SupportedSentencePieceDecoders =
        "Metaspace, or a Sequence of Replace (String \"▁\" → \" \"), ByteFallback, Fuse, Strip (content \" \", stop 0, after Fuse) and Metaspace";

    private sealed partial class Reader
    {
        /// <summary>SentencePiece-style tokenizers have no pre-tokenizer (the normalizer puts in the "▁") or a Metaspace one.</summary>
        private static bool IsSentencePieceStyle(JsonElement? preTokenizer) =>
            preTokenizer is null || OptionalString(preTokenizer.Value, "type") == "Metaspace";

        private SentencePieceStyleBpeModel ReadSentencePieceStyleModel(JsonElement root, BpeModelDefinition bpe, JsonElement? preTokenizer)
        {
            var decoder = ReadSentencePieceDecoder(Property(root, "decoder"), preTokenizer is null ? "null" : "Metaspace");
            var splitter = preTokenizer is null ? null : ReadMetaspace(preTokenizer.Value, "pre_tokenizer");
            return new SentencePieceStyleBpeModel(bpe, splitter, decoder, path);
        }

        private MetaspaceSplitter ReadMetaspace(JsonElement element, string where) =>
            new(ReadReplacementChar(element, where), ReadPrependScheme(element, where), OptionalBool(element, "split") ?? true);

        private char ReadReplacementChar(JsonElement element, string where) =>
            OptionalString(element, "replacement") is { Length: 1 } replacement
                ? replacement[0]
                : throw Error($"{where}: Metaspace needs a one-character \"replacement\" such as \"▁\".");

        /// <summary><c>prepend_scheme</c>, or, in files written before it existed, <c>add_prefix_space</c>.</summary>
        private PrependScheme ReadPrependScheme(JsonElement element, string where)
        {
            var scheme = OptionalString(element, "prepend_scheme");
            return scheme switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                null => OptionalBool(element, "add_prefix_space") == false ? PrependScheme.Never : PrependScheme.Always,
                _ => throw Error($"{where}: Metaspace prepend_scheme \"{scheme}\" is not supported; supported: always, first, never."),
            };
        }

        private SentencePieceDecoder ReadSentencePieceDecoder(JsonElement? element, string preTokenizerType)
        {
            var type = element is null ? null : OptionalString(element.Value, "type");
            var steps = type == "Sequence" && Property(element!.Value, "decoders") is { ValueKind: JsonValueKind.Array } children
                ? children.EnumerateArray().Select((child, index) => (child, $"decoder.decoders[{index}]")).ToList()
                : type == "Metaspace" ? [(element!.Value, "decoder")] : null;
            if (steps is null)
            {
                throw Error($"decoder of type \"{type ?? "null"}\" is not supported with pre_tokenizer {preTokenizerType} " +
                            $"(SentencePiece-style BPE); supported: {SupportedSentencePieceDecoders}.");
            }

            string? replacement = null;
            var strip = 0;
            var firstTokenDropsReplacement = false;
            var fused = false;
            foreach (var (step, where) in steps)
            {
                var stepType = OptionalString(step, "type");
                switch (stepType)
                {
                    case "Replace":
                        var (pattern, content) = ReadLiteralReplace(step, where);
                        if (content != " ")
                            throw Error($"{where}: Replace to \"{content}\" is not supported; only the replacement back to \" \" is.");
                        replacement = pattern;
                        break;
                    case "Metaspace":
                        replacement = ReadReplacementChar(step, where).ToString();
                        firstTokenDropsReplacement = ReadPrependScheme(step, where) != PrependScheme.Never;
                        break;
                    case "ByteFallback":
                        break; // <0xNN> tokens always decode to their bytes.
                    case "Fuse":
                        fused = true;
                        break;
                    case "Strip" when fused && OptionalString(step, "content") == " " && OptionalInt(step, "stop") is null or 0:
                        strip += OptionalInt(step, "start") ?? 0;
                        break;
                    default:
                        throw Error($"{where} of type \"{stepType}\" is not supported here; supported: {SupportedSentencePieceDecoders}.");
                }
            }

            return new SentencePieceDecoder(
                replacement ?? throw Error($"decoder: turns no \"▁\" back into a space; supported: {SupportedSentencePieceDecoders}."),
                strip,
                firstTokenDropsReplacement);
        }

        /// <summary>A Replace normalizer or decoder with a String pattern (Regex patterns are not supported).</summary>
        private (string Pattern, string Content) ReadLiteralReplace(JsonElement element, string where)
        {
            if (Property(element, "pattern") is not { ValueKind: JsonValueKind.Object } pattern
                || OptionalString(pattern, "String") is not { Length: > 0 } literal)
            {
                throw Error($"{where}: Replace is supported only with a non-empty {{\"String\": ...}} pattern.");
            }

            return (literal, OptionalString(element, "content")
                ?? throw Error($"{where}: Replace needs a string \"content\"."));
        }

        private static int? OptionalInt(JsonElement element, string name) =>
            Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number) ? number : null;
    }
}
