using System.Text.RegularExpressions;

namespace FunctionsLlm.Core.Storage;

/// <summary>Validation shared by every store, so a name that works locally also works in Blob Storage and vice versa.</summary>
public static partial class ArtifactName
{
    /// <summary>Blob container rules: 3-63 characters, lowercase letters, digits and single hyphens.</summary>
    public static void ValidateContainer(string container)
    {
        ArgumentNullException.ThrowIfNull(container);
        if (!ContainerPattern().IsMatch(container) || container.Contains("--", StringComparison.Ordinal))
            throw new ArgumentException(
                $"Invalid container name {Quote(container)}: use 3-63 lowercase letters, digits and single hyphens.", nameof(container));
    }

    /// <summary>
    /// Why <paramref name="name"/> is not an artifact name, or null when it is: relative '/'-separated names without
    /// empty, '.' or '..' segments (no escaping the container), control characters (a newline or NUL would split a log
    /// line or cut a path) or percent-escapes (one layer would decode %2F into '/' and another not).
    /// </summary>
    public static string? NameProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 1024)
            return "must be 1-1024 characters";
        if (name.Any(char.IsControl))
            return "control characters (newline, tab, NUL, ...) are not allowed";
        if (name.Contains('\\', StringComparison.Ordinal))
            return "use '/' as the separator";
        if (PercentEscape().IsMatch(name))
            return "percent-escapes such as %2F are not allowed";
        if (name.Split('/').Any(segment => segment is "" or "." or ".."))
            return "empty, '.' and '..' segments are not allowed";
        return null;
    }

    /// <summary>Prefixes may be empty or end with '/'; otherwise they follow the name rules.</summary>
    public static string? PrefixProblem(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return prefix.Length == 0 ? null : NameProblem(prefix.EndsWith('/') ? prefix[..^1] : prefix);
    }

    /// <summary>Why <paramref name="value"/> cannot be a single local folder name (a model or a version), or null when it can.</summary>
    public static string? SegmentProblem(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length is 0 or > 255)
            return "must be 1-255 characters";
        if (value.StartsWith('.'))
            return "must not start with '.'";
        if (value.IndexOfAny(['/', '\\', ':', '*', '?', '"', '<', '>', '|', '%']) >= 0 || value.Any(char.IsControl))
            return "must be one path segment without / \\ : * ? \" < > | % or control characters";
        return null;
    }

    public static void ValidateName(string name)
    {
        if (NameProblem(name) is { } problem)
            throw new ArgumentException($"Invalid artifact name {Quote(name)}: {problem}.", nameof(name));
    }

    public static void ValidatePrefix(string prefix)
    {
        if (PrefixProblem(prefix) is { } problem)
            throw new ArgumentException($"Invalid artifact prefix {Quote(prefix)}: {problem}.", nameof(prefix));
    }

    /// <summary>A name from outside, quoted for a message: control characters shown as \uXXXX, so the message stays one line.</summary>
    public static string Quote(string value) =>
        $"'{string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()))}'";

    // \z, not $: $ also matches before a final newline.
    [GeneratedRegex(@"\A[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])\z")]
    private static partial Regex ContainerPattern();

    [GeneratedRegex("%[0-9A-Fa-f]{2}")]
    private static partial Regex PercentEscape();
}
