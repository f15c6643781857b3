namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// Files a merge job can publish beside the merged model, for other runtimes: <c>gguf-q8_0</c> (and <c>gguf-f32</c>,
/// <c>gguf-f16</c>, <c>gguf-bf16</c>) writes <c>model-q8_0.gguf</c> into the model's version folder, a GGUF that
/// llama.cpp and Ollama run. They are not part of the model folder: downloads of a model skip them.
/// </summary>
public static class ModelExports
{
    public static readonly IReadOnlyList<string> Known = ["gguf-f32", "gguf-f16", "gguf-bf16", "gguf-q8_0"];

    public static bool IsKnown(string export) => Known.Contains(export, StringComparer.Ordinal);

    /// <summary>The GGUF type an export writes: <c>gguf-q8_0</c> → <c>q8_0</c>.</summary>
    public static string GgufType(string export) => IsKnown(export)
        ? export["gguf-".Length..]
        : throw new ArgumentException($"unknown export '{export}'; known: {string.Join(", ", Known)}", nameof(export));

    /// <summary>The file an export writes in the version folder: <c>gguf-q8_0</c> → <c>model-q8_0.gguf</c>.</summary>
    public static string FileName(string export) => $"model-{GgufType(export)}.gguf";

    /// <summary>Whether a file name (relative to a model folder) is an export rather than part of the model.</summary>
    public static bool IsExportFile(string relativeName) =>
        !relativeName.Contains('/', StringComparison.Ordinal) && relativeName.EndsWith(".gguf", StringComparison.Ordinal);

    /// <summary>Parses a comma-separated setting (<c>FLM_EXPORT</c>, <c>--export</c>); null names the unknown ones.</summary>
    public static IReadOnlyList<string>? TryParseList(string? text, out string? problem)
    {
        var exports = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
        var unknown = exports.Where(e => !IsKnown(e)).ToList();
        problem = unknown.Count > 0 ? $"unknown export {string.Join(", ", unknown.Select(u => $"'{u}'"))}; known: {string.Join(", ", Known)}" : null;
        return problem is null ? exports : null;
    }
}
