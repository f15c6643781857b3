namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>A checkpoint file or directory that cannot be read: the message names the path and what is wrong with it.</summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file or directory at fault.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
