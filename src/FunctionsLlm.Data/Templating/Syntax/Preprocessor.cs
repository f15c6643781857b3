using System.Text;
using System.Text.RegularExpressions;
using FunctionsLlm.Data.Templating.Runtime;

namespace FunctionsLlm.Data.Templating.Syntax;

/// <summary>
/// Source rewriting done before lexing, exactly as @huggingface/jinja does it: drop one trailing newline, apply
/// lstrip_blocks and trim_blocks (Hugging Face chat templates are rendered with both on), and remove
/// <c>generation</c>/<c>endgeneration</c> markers. Every kept character remembers its offset in the original source
/// so that errors can point at the template the user wrote.
/// </summary>
internal static partial class Preprocessor
{
    private const string LineStart = @"(?<=^|[\n\r\u2028\u2029])";

    [GeneratedRegex(LineStart + @"[ \t]*(?=\{[#%-])")]
    private static partial Regex LeadingBlockIndent();

    [GeneratedRegex(@"(?<=[#%-]\})\n")]
    private static partial Regex NewlineAfterBlock();

    [GeneratedRegex(@"(" + JsText.WhitespaceClass + @"*)\{%(-?)" + JsText.WhitespaceClass + @"*(?:end)?generation"
        + JsText.WhitespaceClass + @"*(-?)%\}(" + JsText.WhitespaceClass + @"*)", RegexOptions.Singleline)]
    private static partial Regex GenerationMarker();

    public static MappedSource Run(string template)
    {
        var source = MappedSource.Of(template);
        if (template.EndsWith('\n'))
            source = source.Keep(0, source.Text.Length - 1);

        source = source.Remove(LeadingBlockIndent(), _ => true);
        source = source.Remove(NewlineAfterBlock(), _ => true);
        return source.RemoveGenerationMarkers(GenerationMarker());
    }

    /// <summary>Preprocessed text plus, for each of its characters, the offset in the original template.</summary>
    internal sealed class MappedSource(string text, int[] origins)
    {
        public string Text { get; } = text;

        public int OriginOf(int index) =>
            origins.Length == 0 ? 0 : origins[Math.Clamp(index, 0, origins.Length - 1)] + (index >= origins.Length ? 1 : 0);

        public static MappedSource Of(string text) => new(text, Enumerable.Range(0, text.Length).ToArray());

        public MappedSource Keep(int start, int length) => new(Text.Substring(start, length), origins[start..(start + length)]);

        public MappedSource Remove(Regex pattern, Func<Match, bool> shouldRemove)
        {
            var removed = new bool[Text.Length];
            foreach (Match match in pattern.Matches(Text))
            {
                if (shouldRemove(match))
                    Array.Fill(removed, true, match.Index, match.Length);
            }

            return Without(removed);
        }

        public MappedSource RemoveGenerationMarkers(Regex pattern)
        {
            var removed = new bool[Text.Length];
            foreach (Match match in pattern.Matches(Text))
            {
                Array.Fill(removed, true, match.Index, match.Length);
                var before = match.Groups[1];
                var after = match.Groups[4];
                if (match.Groups[2].Length == 0)
                    Array.Fill(removed, false, before.Index, before.Length);
                if (match.Groups[3].Length == 0)
                    Array.Fill(removed, false, after.Index, after.Length);
            }

            return Without(removed);
        }

        private MappedSource Without(bool[] removed)
        {
            var builder = new StringBuilder(Text.Length);
            var kept = new List<int>(Text.Length);
            for (var i = 0; i < Text.Length; i++)
            {
                if (removed[i])
                    continue;
                builder.Append(Text[i]);
                kept.Add(origins[i]);
            }

            return new MappedSource(builder.ToString(), [.. kept]);
        }
    }
}
