namespace FunctionsLlm.Training.Tests;

/// <summary>
/// Test classes that run the training loop: it seeds libtorch's process-wide generator (dropout draws from it), so two
/// runs at once in one process would interleave their random streams and no resume could be bit for bit.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TrainingRuns
{
    public const string Name = "training runs";
}
