namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// A document exchanged between the apps (DESIGN.md "Contracts"). It is validated as a whole, so a reader reports every
/// problem at once instead of the first one; <see cref="ContractJson"/> runs <see cref="Validate"/> on every parse.
/// </summary>
public interface IContract
{
    /// <summary>Every problem with this value, named by its JSON path (e.g. <c>'hyperparameters.lr' must be positive</c>); empty when valid.</summary>
    IReadOnlyList<string> Validate();
}
