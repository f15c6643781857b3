using System.Numerics;
using FunctionsLlm.Modeling.Config;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Rotary position embedding in HF's rotate-half convention: the head is split into halves (x₁, x₂) and
/// rotated as (x₁cos − x₂sin, x₂cos + x₁sin), frequency i shared by element i and i + d/2. Tables are computed
/// in float64 once per length and kept in the compute dtype.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly double[] _inverseFrequencies;
    private readonly int _maxPositions;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private Tensor? _cos; // (positions, head_dim)
    private Tensor? _sin;

    public RotaryEmbedding(ModelConfig config, Device device, ScalarType dtype)
    {
        _inverseFrequencies = InverseFrequencies(config);
        _maxPositions = config.MaxPositionEmbeddings;
        _device = device;
        _dtype = dtype;
    }

    /// <summary>HF's inverse frequencies θ^(−2i/d), adjusted by rope_scaling (linear, llama3).</summary>
    public static double[] InverseFrequencies(ModelConfig config)
    {
        int half = config.HeadDim / 2;
        var inverse = new double[half];
        for (int i = 0; i < half; i++)
            inverse[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);

        var scaling = config.RopeScaling;
        switch (scaling?.Type)
        {
            case "linear":
                for (int i = 0; i < half; i++)
                    inverse[i] /= scaling.Factor;
                break;
            case "llama3":
                double original = scaling.OriginalMaxPositionEmbeddings!.Value;
                double lowFreqWavelength = original / scaling.LowFreqFactor;
                double highFreqWavelength = original / scaling.HighFreqFactor;
                for (int i = 0; i < half; i++)
                {
                    double wavelength = 2 * Math.PI / inverse[i];
                    if (wavelength > lowFreqWavelength)
                    {
                        inverse[i] /= scaling.Factor;
                    }
                    else if (wavelength >= highFreqWavelength)
                    {
                        double smooth = (original / wavelength - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                        inverse[i] = (1 - smooth) * inverse[i] / scaling.Factor + smooth * inverse[i];
                    }
                }
                break;
        }
        return inverse;
    }

    /// <summary>cos and sin for (B, T) position ids, shaped (B, 1, T, head_dim) to broadcast over heads.</summary>
    public (Tensor Cos, Tensor Sin) For(Tensor positions, int maxPosition)
    {
        EnsureLength(maxPosition + 1);
        using var flat = positions.reshape(-1);
        using var cos = _cos!.index_select(0, flat);
        using var sin = _sin!.index_select(0, flat);
        long[] shape = [positions.shape[0], 1, positions.shape[1], _cos.shape[1]];
        return (cos.view(shape), sin.view(shape));
    }

    /// <summary>x·cos + rotate_half(x)·sin for x of shape (B, heads, T, head_dim).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
        return (x * cos).add_(rotated.mul_(sin), One).MoveToOuterDisposeScope();
    }

    private void EnsureLength(int length)
    {
        if (length > _maxPositions)
            throw new ArgumentOutOfRangeException(nameof(length), $"position {length - 1} is beyond max_position_embeddings {_maxPositions}");
        if (_cos is not null && _cos.shape[0] >= length)
            return;
        // Grow in powers of two so a long generation rebuilds the table a few times, not at every step.
        int size = (int)Math.Min(_maxPositions, Math.Max(256, (long)BitOperations.RoundUpToPowerOf2((uint)length)));
        int half = _inverseFrequencies.Length;
        var angles = new double[size * half * 2];
        for (int p = 0; p < size; p++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = p * _inverseFrequencies[i];
                angles[(p * 2 * half) + i] = angle;
                angles[(p * 2 * half) + half + i] = angle;
            }
        }
        _cos?.Dispose();
        _sin?.Dispose();
        using var table = tensor(angles, [size, 2 * half], ScalarType.Float64);
        using var cos = table.cos();
        using var sin = table.sin();
        _cos = cos.to(_dtype, _device).DetachFromDisposeScope();
        _sin = sin.to(_dtype, _device).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _cos?.Dispose();
        _sin?.Dispose();
    }
}
