namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// The supported tokenizer.json pre-tokenizers, applied in order to every piece produced by the previous step.
/// The final ByteLevel step only decides the pieces; the byte-to-character mapping itself happens in the BPE model.
/// </summary>
internal sealed class PreTokenizerPipeline(IReadOnlyList<PreTokenizerPipeline.IStep> steps)
{
    internal interface IStep
    {
        void Split(string piece, List<string> output);
    }

    /// <summary>Split with behavior "Isolated", invert false.</summary>
    internal sealed class IsolatedRegexSplit(PreTokenizerRegex regex) : IStep
    {
        public PreTokenizerRegex Regex { get; } = regex;

        public void Split(string piece, List<string> output) => Regex.SplitIsolated(piece, output);
    }

    /// <summary>ByteLevel: optionally prefix a space, optionally split with the GPT-2 pattern.</summary>
    internal sealed class ByteLevelSplit(bool addPrefixSpace, PreTokenizerRegex? gpt2Regex) : IStep
    {
        public bool AddPrefixSpace => addPrefixSpace;

        public PreTokenizerRegex? Regex => gpt2Regex;

        public void Split(string piece, List<string> output)
        {
            if (addPrefixSpace && !piece.StartsWith(' '))
                piece = " " + piece;
            if (gpt2Regex is null)
                output.Add(piece);
            else
                gpt2Regex.SplitIsolated(piece, output);
        }
    }

    public IReadOnlyList<IStep> Steps { get; } = steps;

    /// <summary>The Oniguruma patterns of the steps that split, in order.</summary>
    public IReadOnlyList<string> SplitPatterns => [.. Steps.Select(step => step switch
    {
        IsolatedRegexSplit split => split.Regex.OnigurumaPattern,
        ByteLevelSplit { Regex: { } regex } => regex.OnigurumaPattern,
        _ => null,
    }).OfType<string>()];

    public bool AddPrefixSpace => Steps.OfType<ByteLevelSplit>().Any(step => step.AddPrefixSpace);

    public List<string> Split(string text)
    {
        var pieces = new List<string> { text };
        foreach (var step in Steps)
        {
            var next = new List<string>(pieces.Count * 2);
            foreach (var piece in pieces)
                step.Split(piece, next);
            pieces = next;
        }

        return pieces;
    }
}
