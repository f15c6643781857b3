namespace FunctionsLlm.Core.Storage;

/// <summary>A lease this process held is gone: it expired (and may now be someone else's) or was broken.</summary>
public sealed class ArtifactLeaseLostException(string container, string name, string reason, Exception? inner = null)
    : IOException($"the lease on '{container}/{name}' was lost: {reason}", inner);
