namespace FunctionsLlm.Tests;

/// <summary>Bytes whose length a reader cannot know in advance: HttpClient sends them chunked, without Content-Length.</summary>
internal sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes, writable: false)
{
    public override bool CanSeek => false;
}
