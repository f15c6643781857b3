namespace FunctionsLlm.Core.Storage;

/// <summary>The artifact is leased: only its holder may delete it (through <see cref="IArtifactLease.DeleteAsync"/>).</summary>
public sealed class ArtifactLeasedException(string container, string name, Exception? inner = null)
    : IOException($"'{container}/{name}' is leased: only its holder may delete it", inner);
