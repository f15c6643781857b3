using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>
/// SentencePieceStyle/expected.json: ids and decoded text from Hugging Face's Rust tokenizers for the spm-bpe fixture
/// tokenizer.json and edited copies of it (see SentencePieceStyle/README.md).
/// </summary>
internal static class SentencePieceStyleReference
{
    public static readonly string Directory =
        Path.Combine(RepoPaths.Root, "tests", "FunctionsLlm.Data.Tests", "Tokenization", "SentencePieceStyle");

    public sealed record Case(string Text, int[] Ids, int[] IdsWithSpecial, string Decoded, string DecodedSkippingSpecial);

    public sealed record Variant(string Name, JsonObject Edit, IReadOnlyList<Case> Cases)
    {
        /// <summary>The fixture tokenizer.json with the variant's top-level keys replaced and its "model" keys merged in.</summary>
        public void Apply(JsonObject tokenizer)
        {
            foreach (var (key, value) in Edit)
            {
                if (key == "model")
                {
                    foreach (var (field, fieldValue) in value!.AsObject())
                        tokenizer["model"]![field] = fieldValue?.DeepClone();
                }
                else
                {
                    tokenizer[key] = value?.DeepClone();
                }
            }
        }
    }

    public static IReadOnlyList<Variant> Variants { get; } = Read();

    public static Variant Named(string name) => Variants.Single(variant => variant.Name == name);

    private static List<Variant> Read()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json")))!;
        return root["variants"]!.AsArray().Select(variant => new Variant(
                variant!["name"]!.GetValue<string>(),
                variant["edit"]!.AsObject(),
                variant["cases"]!.AsArray().Select(entry => new Case(
                    entry!["text"]!.GetValue<string>(),
                    Ids(entry["ids"]!),
                    Ids(entry["ids_with_special"]!),
                    entry["decoded"]!.GetValue<string>(),
                    entry["decoded_skipping_special"]!.GetValue<string>())).ToList()))
            .ToList();

        static int[] Ids(JsonNode array) => array.AsArray().Select(id => id!.GetValue<int>()).ToArray();
    }
}
