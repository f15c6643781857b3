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
                $"Invalid container name '{container}': use 3-63 lowercase letters, digits and single hyphens.", nameof(container));
    }

    /// <summary>Relative '/'-separated names without empty, '.' or '..' segments (no escaping the container).</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 1024)
            throw new ArgumentException($"Invalid artifact name '{name}': must be 1-1024 characters.", nameof(name));
        if (name.Contains('\\', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"Invalid artifact name '{name}': use '/' as the separator.", nameof(name));
        foreach (var segment in name.Split('/'))
        {
            if (segment is "" or "." or "..")
                throw new ArgumentException(
                    $"Invalid artifact name '{name}': empty, '.' and '..' segments are not allowed.", nameof(name));
        }
    }

    /// <summary>Prefixes may be empty or end with '/'; otherwise they follow the name rules.</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0)
            ValidateName(prefix.EndsWith('/') ? prefix[..^1] : prefix);
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")]
    private static partial Regex ContainerPattern();
}
