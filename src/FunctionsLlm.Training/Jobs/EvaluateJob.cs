using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Jobs;

/// <summary>
/// An evaluate job on local folders: base versus fine-tuned (<see cref="Evaluator"/>), the report written to a folder
/// (<see cref="ReportFiles"/>). <c>names</c> says how the report names the two models (where they are
/// published, rather than a cache folder). <c>flm eval</c> and the trainer app's jobs both run it.
/// </summary>
public static class EvaluateJob
{
    public static (EvaluationReport Report, IReadOnlyList<string> Files) Run(EvaluationRequest request, string reportDir,
        EvaluationOptions? options = null, (string Base, string FineTuned)? names = null, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        var report = Evaluator.Run(request, options, log, cancellationToken);
        if (names is { } n)
            report = report with { BaseModel = n.Base, FineTunedModel = n.FineTuned };
        return (report, ReportFiles.Write(report, reportDir));
    }
}
