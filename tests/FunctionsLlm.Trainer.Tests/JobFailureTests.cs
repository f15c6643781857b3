using System.Runtime.InteropServices;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Trainer.Jobs;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Trainer.Tests;

public sealed class JobFailureTests
{
    [Fact]
    public void Failures_are_described_in_words_a_caller_can_act_on()
    {
        string oom = JobFailure.Describe(new ExternalException("CUDA out of memory. Tried to allocate 2.00 GiB")).Message;
        Assert.StartsWith("out of memory: CUDA out of memory.", oom);
        Assert.Contains("batchSize", oom);
        Assert.Equal((JobErrorCode.OutOfMemory, true), (JobFailure.Describe(new OutOfMemoryException()) is var m ? m.Code : 0, m.Message.StartsWith("out of memory:", StringComparison.Ordinal)));
        Assert.Equal((JobErrorCode.CorruptTrainingData, "corrupt training data: train.jsonl:3: not a formatted record"),
            JobFailure.Describe(new TrainingDataException("train.jsonl:3: not a formatted record")));
        Assert.Equal((JobErrorCode.InputMissing, "base model not found: x"), JobFailure.Describe(new InputMissingException("base model not found: x")));
        Assert.Equal((JobErrorCode.Internal, "InvalidOperationException: boom"), JobFailure.Describe(new InvalidOperationException("boom")));
    }

    [Fact]
    public void A_parity_gate_refusal_has_its_own_code_whatever_its_message_says()
    {
        Assert.Equal(JobErrorCode.ParityGate, JobFailure.Describe(new LoraParityException("merged logits differ by 0.4")).Code);
        Assert.Equal(JobErrorCode.MergeFailed, JobFailure.Describe(new LoraException("adapter_config.json: parity of nothing")).Code);
    }

    [Fact]
    public void An_export_the_model_cannot_take_says_so_and_how_to_go_on()
    {
        var (code, message) = JobFailure.Describe(new GgufExportException("m: SentencePiece-style tokenizer.json is not exported yet"));
        Assert.Equal(JobErrorCode.ExportFailed, code);
        Assert.Equal("export failed (leave out the export, or fix the model): m: SentencePiece-style tokenizer.json is not exported yet", message);
    }
}
