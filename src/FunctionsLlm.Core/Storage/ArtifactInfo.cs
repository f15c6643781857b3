namespace FunctionsLlm.Core.Storage;

/// <summary>Properties of a stored artifact. <see cref="ETag"/> changes whenever the content is replaced.</summary>
public sealed record ArtifactInfo(string Container, string Name, long Length, DateTimeOffset LastModified, string ETag);
