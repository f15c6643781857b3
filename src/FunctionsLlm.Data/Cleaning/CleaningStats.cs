namespace FunctionsLlm.Data.Cleaning;

/// <summary>What cleaning changed in the records it kept (the input file itself is never touched).</summary>
public sealed class CleaningStats
{
    /// <summary>Texts whose surrounding whitespace was stripped.</summary>
    public long WhitespaceStripped { get; set; }

    /// <summary>Texts whose CRLF or CR line endings became LF.</summary>
    public long LineEndingsNormalized { get; set; }

    /// <summary>Texts rewritten to Unicode NFC.</summary>
    public long NfcNormalized { get; set; }

    /// <summary>Personal data replaced by placeholders (only with PII masking on).</summary>
    public long PiiMasked { get; set; }

    internal void Add(CleaningStats other)
    {
        WhitespaceStripped += other.WhitespaceStripped;
        LineEndingsNormalized += other.LineEndingsNormalized;
        NfcNormalized += other.NfcNormalized;
        PiiMasked += other.PiiMasked;
    }
}
