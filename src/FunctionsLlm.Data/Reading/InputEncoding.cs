namespace FunctionsLlm.Data.Reading;

/// <summary>How the input was encoded; everything is read as UTF-8 after transcoding.</summary>
public enum InputEncoding
{
    Utf8,
    Utf8WithBom,
    Utf16LittleEndian,
    Utf16BigEndian,
}
