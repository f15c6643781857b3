namespace FunctionsLlm.Training;

/// <summary>Reported after every optimizer step (the trainer service's job progress has the same fields).</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Epoch, double Loss, double? EvalLoss, double LearningRate,
    double TokensPerSecond, double EtaSeconds);
