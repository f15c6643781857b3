namespace FunctionsLlm.Core.Contracts;

/// <summary>One training candidate of a run: its trainer job, the settings it tried, and how it did.</summary>
public sealed record CandidateSummary
{
    /// <summary>The trainer job id (<c>{run}-c{i}</c>).</summary>
    public required string JobId { get; init; }

    public Hyperparameters Hyperparameters { get; init; } = new();

    /// <summary>The job's final eval loss; null while it runs or when it failed.</summary>
    public double? EvalLoss { get; init; }

    public required JobState State { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.RequireText($"{at}jobId", JobId);
        if (Hyperparameters is null)
            problems.Add($"'{at}hyperparameters' must be an object");
        else
            Hyperparameters.AddProblems(problems, $"{at}hyperparameters.");
        problems.RequireFinite($"{at}evalLoss", EvalLoss, min: 0);
        problems.RequireDefined($"{at}state", State);
    }
}
