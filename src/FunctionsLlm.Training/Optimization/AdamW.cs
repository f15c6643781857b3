using FunctionsLlm.Modeling.Checkpoints;
using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
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
        using var decay = (1 - (learningRate * _weightDecay)).ToScalar();
        using var firstWeight = tensor(1 - _beta1);
        using var beta2 = _beta2.ToScalar();
        using var secondWeight = (1 - _beta2).ToScalar();
        using var correction2 = biasCorrection2Sqrt.ToScalar();
        using var epsilon = _epsilon.ToScalar();
        using var stepSize = (-learningRate / biasCorrection1).ToScalar();
        for (int i = 0; i < _parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var parameter = _parameters[i].Parameter;
            if (parameter.grad is not { } grad)
                continue;
            if (_weightDecay != 0)
                parameter.mul_(decay);
            _firstMoments[i].lerp_(grad, firstWeight);
            _secondMoments[i].mul_(beta2).addcmul_(grad, grad, secondWeight);
            var denominator = _secondMoments[i].sqrt().div_(correction2).add_(epsilon, One);
            parameter.addcdiv_(_firstMoments[i], denominator, stepSize);
        }
    }

    /// <summary>Drops the gradients (PyTorch's zero_grad(set_to_none=True)): the next backward pass allocates them anew.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, parameter) in _parameters)
            parameter.grad = null;
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
