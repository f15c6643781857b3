namespace FunctionsLlm.Training;

/// <param name="OutputDir">RUN_DIR/adapter (PEFT) or, in full mode, RUN_DIR/model (a Hugging Face model folder).</param>
/// <param name="BestStep">The step whose weights were kept (best eval loss when load-best-at-end applies).</param>
/// <param name="FourBitBase">The frozen base was held in 4 bits (QLoRA).</param>
public sealed record TrainingResult(string OutputDir, int Steps, int? BestStep, double? BestEvalLoss, double? FinalEvalLoss,
    bool StoppedEarly, string TrainableSummary, bool FourBitBase = false);
