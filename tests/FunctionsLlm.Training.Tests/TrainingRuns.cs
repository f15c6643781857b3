namespace FunctionsLlm.Training.Tests;

/// <summary>
/// Test classes that run the training loop: it seeds libtorch's process-wide generator (dropout draws from it), so two
/// runs at once in one process, or any other test drawing from it meanwhile, would change the draws and no resume could
/// be bit for bit. They run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingRuns
{
    public const string Name = "training runs";
}
