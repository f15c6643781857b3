namespace FunctionsLlm.Core.Contracts;

/// <summary>A contract document that cannot be used: not JSON, a wrong type, or values that break its rules.</summary>
public sealed class ContractException : Exception
{
    public ContractException(string contract, string? origin, IReadOnlyList<string> problems)
        : base(Describe(contract, origin, problems))
    {
        Contract = contract;
        Origin = origin;
        Problems = problems;
    }

    /// <summary>The contract's type name, e.g. <c>ModelManifest</c>.</summary>
    public string Contract { get; }

    /// <summary>Where the document came from (e.g. <c>models/support-bot/current.json</c>), when the caller said.</summary>
    public string? Origin { get; }

    /// <summary>Every problem found, each naming the field it is about.</summary>
    public IReadOnlyList<string> Problems { get; }

    internal static string Describe(string contract, string? origin, IReadOnlyList<string> problems) =>
        origin is null
            ? $"Invalid {contract}: {string.Join("; ", problems)}"
            : $"{origin} is not a valid {contract}: {string.Join("; ", problems)}";
}
