namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// A PEFT adapter an engine serves over its base, under <see cref="Name"/> (the <c>model</c> clients pass). A new
/// version is a new instance with its own folder: requests that started on the old one finish on it.
/// </summary>
/// <param name="Directory">The local adapter folder (adapter_config.json + adapter_model.safetensors).</param>
/// <param name="Source">Where it came from, shown as <c>root</c> in <c>/v1/models</c>: the folder, or its blob prefix.</param>
/// <param name="Version">The pipeline's version, when it was published by one.</param>
public sealed record ServedAdapter(string Name, string Directory, string Source, string? Version = null)
{
    public DateTimeOffset AddedAt { get; } = DateTimeOffset.UtcNow;
}
