using System.Diagnostics;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training.Checkpoints;
using FunctionsLlm.Training.Data;
using FunctionsLlm.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionsLlm.Training;

/// <summary>
/// Fine-tunes a causal LM with LoRA (or every parameter with <see cref="Hyperparameters.Full"/>): AdamW with warmup and
/// a schedule, micro-batches with gradient accumulation, clipping, periodic logging, evaluation and checkpoints, best
/// checkpoint by eval loss, early stopping, exact resume, and a checkpoint on cancellation.
/// </summary>
public sealed class TrainingLoop(Hyperparameters options, TextWriter? console = null)
{
    /// <param name="baseDir">The base model folder (config, tokenizer, weights unless full mode starts from scratch).</param>
    /// <param name="resumeFrom">A checkpoint folder, or null to start fresh.</param>
    /// <param name="progress">Called synchronously after every optimizer step.</param>
    public TrainingResult Run(CausalLM model, string baseDir, IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample> eval,
        string runDir, string? resumeFrom = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (options.Validate() is { Count: > 0 } problems)
            throw new ArgumentException(string.Join("; ", problems));
        ArgumentOutOfRangeException.ThrowIfZero(train.Count);
        Directory.CreateDirectory(runDir);
        manual_seed(options.Seed).Dispose();
        var lora = options.Full ? null : LoraConfig.From(options, baseDir);
        string summary = Prepare(model, lora);

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).OrderBy(p => p.name, StringComparer.Ordinal)
            .Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = new AdamW(trainable, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        var store = new CheckpointStore(runDir);
        var state = resumeFrom is null ? new TrainerState { Seed = options.Seed } : CheckpointStore.Restore(resumeFrom, model, options.Full, optimizer);

        int batchesPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        int stepsPerEpoch = (batchesPerEpoch + options.GradientAccumulation - 1) / options.GradientAccumulation;
        int totalSteps = Math.Min(options.MaxSteps ?? int.MaxValue, stepsPerEpoch * options.Epochs);
        state.MaxSteps = totalSteps;
        var schedule = new LearningRateSchedule(options.LearningRate, LearningRateSchedule.WarmupFor(options, totalSteps), totalSteps, options.Scheduler);
        int padId = PadId(model);

        using var log = new TrainingLog(runDir, console);
        log.Message(summary);
        if (resumeFrom is not null)
            log.Message($"resumed from {resumeFrom} at step {state.GlobalStep}");
        var clock = Stopwatch.StartNew();
        int startStep = state.GlobalStep;
        long tokensSeen = 0;
        double? lastEval = null;
        model.train();
        model.GradientCheckpointing = options.GradientCheckpointing;

        while (state.GlobalStep < totalSteps && !state.StoppedEarly)
        {
            var groups = LengthGroupedSampler.Batches(train, options.BatchSize, options.Seed, state.EpochIndex, options.GroupByLength)
                .Chunk(options.GradientAccumulation).ToList();
            while (state.StepsInEpoch < groups.Count && state.GlobalStep < totalSteps && !state.StoppedEarly)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    store.Save(model, lora, optimizer, state);
                    log.Message($"cancelled: checkpoint saved at step {state.GlobalStep} in {store.PathOf(state.GlobalStep)}");
                    cancellationToken.ThrowIfCancellationRequested();
                }
                double learningRate = schedule.At(state.GlobalStep);
                var (loss, gradNorm, tokens) = Step(model, optimizer, groups[state.StepsInEpoch], train, padId, learningRate);
                state.GlobalStep++;
                state.StepsInEpoch++;
                tokensSeen += tokens;
                state.PendingLossSum += loss;
                state.PendingLossSteps++;
                double epoch = state.EpochIndex + ((double)state.StepsInEpoch / groups.Count);
                double tokensPerSecond = tokensSeen / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

                if (state.GlobalStep % options.LoggingSteps == 0 || state.GlobalStep == totalSteps)
                {
                    log.Train(state.GlobalStep, epoch, state.PendingLossSum / state.PendingLossSteps, learningRate, gradNorm, tokensPerSecond);
                    state.PendingLossSum = 0;
                    state.PendingLossSteps = 0;
                }
                if (eval.Count > 0 && (state.GlobalStep % options.EvalSteps == 0 || state.GlobalStep == totalSteps))
                {
                    lastEval = CausalLmLoss.Mean(model, eval, options.BatchSize, padId);
                    log.Eval(state.GlobalStep, epoch, lastEval.Value);
                    Track(state, lastEval.Value);
                }
                if (state.GlobalStep % options.SaveSteps == 0 || state.GlobalStep == totalSteps || state.StoppedEarly)
                {
                    store.Save(model, lora, optimizer, state);
                    store.Rotate(options.SaveTotalLimit, state.BestStep);
                }
                double eta = clock.Elapsed.TotalSeconds / Math.Max(1, state.GlobalStep - startStep) * (totalSteps - state.GlobalStep);
                log.Progress(state.GlobalStep, totalSteps, learningRate, tokensPerSecond, eta);
                progress?.Report(new TrainingProgress(state.GlobalStep, totalSteps, epoch, loss, lastEval, learningRate, tokensPerSecond, eta));
            }
            if (state.StoppedEarly)
            {
                log.Message($"early stopping: no lower eval loss in {options.EarlyStoppingPatience} evaluations (best {state.BestEvalLoss:F4} at step {state.BestStep})");
            }
            else if (state.StepsInEpoch >= groups.Count)
            {
                state.EpochIndex++;
                state.StepsInEpoch = 0;
            }
        }
        model.eval();
        log.Message("");

        string output = Finish(model, lora, baseDir, runDir, state, store);
        return new TrainingResult(output, state.GlobalStep, state.BestStep, state.BestEvalLoss, lastEval, state.StoppedEarly, summary);
    }

    private string Prepare(CausalLM model, LoraConfig? lora)
    {
        if (lora is null)
        {
            foreach (var parameter in model.parameters())
                parameter.requires_grad = true;
        }
        else if (!LoraInjector.LinearLayers(model).Values.Any(l => l.lora_A is not null))
        {
            using var generator = new Generator((ulong)options.Seed);
            LoraInjector.Inject(model, lora, generator);
        }
        return LoraInjector.TrainableSummary(model);
    }

    /// <summary>One optimizer step over a group of micro-batches; loss is per learned token of the whole group.</summary>
    private (double Loss, double GradNorm, long Tokens) Step(CausalLM model, AdamW optimizer, int[][] group, IReadOnlyList<TrainingExample> train,
        int padId, double learningRate)
    {
        long learned = group.Sum(batch => batch.Sum(i => (long)train[i].LearnedTokens));
        double loss = 0;
        long tokens = 0;
        using var scope = NewDisposeScope();
        using var learnedTokens = learned.ToScalar();
        optimizer.ZeroGrad();
        foreach (int[] indices in group)
        {
            using var microBatch = NewDisposeScope();   // one micro-batch's activations go before the next is computed
            using var batch = Batch.Collate([.. indices.Select(i => train[i])], padId, model.Device);
            var logits = model.Forward(batch.InputIds, attentionMask: batch.AttentionMask);
            var microLoss = CausalLmLoss.Sum(logits, batch.Labels).div(learnedTokens);
            microLoss.backward();
            loss += microLoss.item<float>();
            tokens += batch.Tokens;
        }
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        double gradNorm = nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm);
        optimizer.Step(learningRate);
        return (loss, gradNorm, tokens);
    }

    private void Track(TrainerState state, double evalLoss)
    {
        if (state.BestEvalLoss is null || evalLoss < state.BestEvalLoss)
        {
            state.BestEvalLoss = evalLoss;
            state.BestStep = state.GlobalStep;
            state.EvalsWithoutImprovement = 0;
        }
        else if (++state.EvalsWithoutImprovement >= (options.EarlyStoppingPatience ?? int.MaxValue))
        {
            state.StoppedEarly = true;
        }
    }

    // Writes RUN_DIR/adapter or RUN_DIR/model from the best checkpoint (when kept and asked for) or the last weights.
    private string Finish(CausalLM model, LoraConfig? lora, string baseDir, string runDir, TrainerState state, CheckpointStore store)
    {
        if (options.LoadBestModelAtEnd && state.BestStep is { } best && best != state.GlobalStep && Directory.Exists(store.PathOf(best)))
        {
            CheckpointStore.RestoreWeights(store.PathOf(best), model, full: lora is null);
        }
        if (lora is not null)
        {
            string adapterDir = Path.Combine(runDir, "adapter");
            PeftAdapter.Save(model, lora, adapterDir);
            return adapterDir;
        }
        string modelDir = Path.Combine(runDir, "model");
        ModelFolder.CopyAllButWeights(baseDir, modelDir);
        var stored = model.Config.TorchDtype == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, parameter) in model.named_parameters())
            tensors.Add((name, parameter.detach().to(stored)));
        SafetensorsWriter.WriteCheckpoint(modelDir, tensors);
        return modelDir;
    }

    private static int PadId(CausalLM model) =>
        model.GenerationConfig.PadTokenId?.FirstOrDefault() ?? model.Config.PadTokenId?.FirstOrDefault() ?? model.EosTokenIds.FirstOrDefault();
}
