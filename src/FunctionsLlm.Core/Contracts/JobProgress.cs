using System.Globalization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// How far a running job is (the trainer reports its training progress under these names). Values the job does not
/// know yet are null: no loss before the first step, no eval loss before the first evaluation.
/// </summary>
public sealed record JobProgress
{
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; init; }

    public int? TotalSteps { get; init; }

    /// <summary>Training loss of the last logged step.</summary>
    public double? Loss { get; init; }

    /// <summary>Loss on the eval set at the last evaluation.</summary>
    public double? EvalLoss { get; init; }

    public double? TokensPerSecond { get; init; }

    /// <summary>Estimated seconds until the job finishes.</summary>
    public double? EtaSeconds { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.Require(Step >= 0, string.Create(CultureInfo.InvariantCulture, $"'{at}step' must not be negative (got {Step})"));
        problems.Require(TotalSteps is null || Step <= TotalSteps,
            string.Create(CultureInfo.InvariantCulture, $"'{at}totalSteps' must be at least '{at}step' (got {TotalSteps} < {Step})"));
        problems.RequireFinite($"{at}loss", Loss);
        problems.RequireFinite($"{at}evalLoss", EvalLoss);
        problems.RequireFinite($"{at}tokensPerSecond", TokensPerSecond, min: 0);
        problems.RequireFinite($"{at}etaSeconds", EtaSeconds, min: 0);
    }
}
