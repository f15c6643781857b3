using System.Globalization;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Contracts;

/// <summary>The checks the contracts share; each adds a problem naming the field by its JSON path.</summary>
internal static class ContractRules
{
    public static void Require(this List<string> problems, bool ok, string problem)
    {
        if (!ok)
            problems.Add(problem);
    }

    public static void RequireText(this List<string> problems, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            problems.Add($"'{field}' is missing");
    }

    public static void RequireTime(this List<string> problems, string field, DateTimeOffset value)
    {
        if (value == default)
            problems.Add($"'{field}' is missing");
    }

    public static void RequireDefined<TEnum>(this List<string> problems, string field, TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value) || Convert.ToInt64(value, CultureInfo.InvariantCulture) == 0)
            problems.Add($"'{field}' is missing or not one of {SnakeCaseEnumConverter<TEnum>.AllowedNames}");
    }

    /// <summary>An optional SHA-256: when present, 64 lowercase hex digits (a <see cref="Models.DirectoryFingerprint"/>).</summary>
    public static void RequireSha256(this List<string> problems, string field, string? value)
    {
        if (value is not null && !(value.Length == 64 && value.All(char.IsAsciiHexDigitLower)))
            problems.Add($"'{field}' must be 64 lowercase hex digits (got {ArtifactName.Quote(value)})");
    }

    /// <summary>A folder prefix in a container: present, a valid artifact name, ending with '/'.</summary>
    public static void RequireFolderPrefix(this List<string> problems, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add($"'{field}' is missing");
            return;
        }
        if (!value.EndsWith('/'))
            problems.Add($"'{field}' must end with '/' (got {ArtifactName.Quote(value)})");
        else if (ArtifactName.PrefixProblem(value) is { } problem)
            problems.Add($"'{field}' is not a valid artifact name (got {ArtifactName.Quote(value)}): {problem}");
    }

    /// <summary>A name or prefix in a container: present and a valid artifact name (a trailing '/' allowed).</summary>
    public static void RequireName(this List<string> problems, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            problems.Add($"'{field}' is missing");
        else if (ArtifactName.PrefixProblem(value) is { } problem)
            problems.Add($"'{field}' is not a valid artifact name (got {ArtifactName.Quote(value)}): {problem}");
    }

    /// <summary>A value that names a local folder: present and one path segment (no separators, not '.' or '..', no leading '.').</summary>
    public static void RequireSegment(this List<string> problems, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            problems.Add($"'{field}' is missing");
        else if (ArtifactName.SegmentProblem(value) is { } problem)
            problems.Add($"'{field}' {problem} (got {ArtifactName.Quote(value)})");
    }

    public static void RequireFinite(this List<string> problems, string field, double? value, double min = double.NegativeInfinity)
    {
        if (value is not { } v || (double.IsFinite(v) && v >= min))
            return;
        var bound = double.IsNegativeInfinity(min) ? "" : string.Create(CultureInfo.InvariantCulture, $" ≥ {min}");
        problems.Add(string.Create(CultureInfo.InvariantCulture, $"'{field}' must be a finite number{bound} (got {v})"));
    }
}
