using System.Runtime.InteropServices;
using FunctionsLlm.Trainer.Jobs;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Trainer.Tests;

public sealed class JobFailureTests
{
    [Fact]
    public void Failures_are_described_in_words_a_caller_can_act_on()
    {
        string oom = JobFailure.Describe(new ExternalException("CUDA out of memory. Tried to allocate 2.00 GiB"));
        Assert.StartsWith("out of memory: CUDA out of memory.", oom);
        Assert.Contains("batchSize", oom);
        Assert.StartsWith("out of memory:", JobFailure.Describe(new OutOfMemoryException()));
        Assert.Equal("corrupt training data: train.jsonl:3: not a formatted record",
            JobFailure.Describe(new TrainingDataException("train.jsonl:3: not a formatted record")));
        Assert.Equal("base model not found: x", JobFailure.Describe(new InputMissingException("base model not found: x")));
        Assert.Equal("InvalidOperationException: boom", JobFailure.Describe(new InvalidOperationException("boom")));
    }
}
