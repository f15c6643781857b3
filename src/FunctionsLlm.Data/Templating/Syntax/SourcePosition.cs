namespace FunctionsLlm.Data.Templating;

/// <summary>1-based line and column of a construct in the original template source.</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public static SourcePosition FromOffset(string source, int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset && i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new SourcePosition(line, offset - lineStart + 1);
    }
}
