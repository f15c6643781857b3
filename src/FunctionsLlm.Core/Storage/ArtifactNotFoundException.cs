namespace FunctionsLlm.Core.Storage;

/// <summary>The artifact (or its container) does not exist.</summary>
public sealed class ArtifactNotFoundException : Exception
{
    public ArtifactNotFoundException(string container, string name, string where, Exception? inner = null)
        : base($"Artifact '{container}/{name}' was not found in {where}.", inner)
    {
        Container = container;
        Name = name;
    }

    public string Container { get; }

    public string Name { get; }
}
