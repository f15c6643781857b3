using FunctionsLlm.Modeling.Checkpoints;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Optimization;

/// <summary>
/// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, eps outside the square
/// root), with state that can be saved and restored bit for bit so a resumed run continues identically.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;
    private readonly double _beta1, _beta2, _epsilon, _weightDecay;

    public AdamW(IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters, double beta1, double beta2, double epsilon, double weightDecay)
    {
        _parameters = parameters;
        _beta1 = beta1;
        _beta2 = beta2;
        _epsilon = epsilon;
        _weightDecay = weightDecay;
        _firstMoments = [.. parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope())];
        _secondMoments = [.. parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope())];
    }

    /// <summary>Updates completed so far.</summary>
    public int Steps { get; private set; }

    public void Step(double learningRate)
    {
        Steps++;
        double biasCorrection1 = 1 - Math.Pow(_beta1, Steps);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, Steps));
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var parameter = _parameters[i].Parameter;
            if (parameter.grad is not { } grad)
                continue;
            using var scope = NewDisposeScope();
            if (_weightDecay != 0)
                parameter.mul_(1 - (learningRate * _weightDecay));
            _firstMoments[i].lerp_(grad, 1 - _beta1);
            _secondMoments[i].mul_(_beta2).addcmul_(grad, grad, 1 - _beta2);
            var denominator = (_secondMoments[i].sqrt() / biasCorrection2Sqrt).add_(_epsilon);
            parameter.addcdiv_(_firstMoments[i], denominator, -learningRate / biasCorrection1);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, parameter) in _parameters)
        {
            if (parameter.grad is { } grad)
            {
                grad.detach_();
                grad.zero_();
            }
        }
    }

    /// <summary>Moments as safetensors (<c>{name}.exp_avg</c>, <c>{name}.exp_avg_sq</c>) with the step count in the metadata.</summary>
    public void Save(string path) =>
        SafetensorsWriter.Write(path,
            _parameters.SelectMany((p, i) => new[] { (p.Name + ".exp_avg", _firstMoments[i]), (p.Name + ".exp_avg_sq", _secondMoments[i]) }),
            new Dictionary<string, string> { ["step"] = Steps.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public void Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("step", out string? step) || !int.TryParse(step, System.Globalization.CultureInfo.InvariantCulture, out int steps))
            throw new CheckpointException(path, "optimizer state without a step count");
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            foreach (var (suffix, moment) in new[] { (".exp_avg", _firstMoments[i]), (".exp_avg_sq", _secondMoments[i]) })
            {
                string name = _parameters[i].Name + suffix;
                if (!file.Tensors.ContainsKey(name))
                    throw new CheckpointException(path, $"optimizer state has no '{name}': the checkpoint is from a different model or adapter");
                using var stored = file.Read(name);
                moment.copy_(stored);
            }
        }
        Steps = steps;
    }

    public void Dispose()
    {
        foreach (var moment in _firstMoments.Concat(_secondMoments))
            moment.Dispose();
    }
}
