using System.Numerics;
using FunctionsLlm.Modeling.Config;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Rotary position embedding on the first d = head_dim × partial_rotary_factor dimensions of each head (the rest pass
/// through), frequency i = θ^(−2i/d). HF's rotate-half convention pairs element i with i + d/2 and rotates them as
/// (x₁cos − x₂sin, x₂cos + x₁sin); GLM's interleaved one pairs 2i with 2i + 1. Tables are computed in float64 once per
/// length and kept in the compute dtype, laid out for the convention.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly double[] _inverseFrequencies;
    private readonly bool _interleaved;
    private readonly int _maxPositions;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private Tensor? _cos; // (positions, head_dim)
    private Tensor? _sin;

    public RotaryEmbedding(ModelConfig config, Device device, ScalarType dtype)
    {
        _inverseFrequencies = InverseFrequencies(config);
        _interleaved = config.InterleavedRotary;
        _maxPositions = config.MaxPositionEmbeddings;
        _device = device;
        _dtype = dtype;
    }

    /// <summary>HF's inverse frequencies θ^(−2i/d) for the d rotary dimensions, adjusted by rope_scaling (linear, llama3).</summary>
    public static double[] InverseFrequencies(ModelConfig config)
    {
        int half = config.RotaryDim / 2;
        var inverse = new double[half];
        for (int i = 0; i < half; i++)
            inverse[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.RotaryDim);

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

    /// <summary>cos and sin for (B, T) position ids, shaped (B, 1, T, rotary dims) to broadcast over heads.</summary>
    public (Tensor Cos, Tensor Sin) For(Tensor positions, int maxPosition)
    {
        EnsureLength(maxPosition + 1);
        using var flat = positions.reshape(-1);
        using var cos = _cos!.index_select(0, flat);
        using var sin = _sin!.index_select(0, flat);
        long[] shape = [positions.shape[0], 1, positions.shape[1], _cos.shape[1]];
        return (cos.view(shape), sin.view(shape));
    }

    /// <summary>
    /// x·cos + rotate(x)·sin on the first rotary dimensions of x (B, heads, T, head_dim), the others unchanged;
    /// cos and sin come from <see cref="For"/> of a model whose convention is <paramref name="interleaved"/>.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool interleaved = false)
    {
        using var scope = NewDisposeScope();
        long dims = cos.shape[^1];
        var part = dims == x.shape[^1] ? x : x.narrow(-1, 0, dims);
        Tensor rotated;
        if (interleaved)
        {
            long last = part.ndim - 1;
            var pairs = part.unflatten(last, [dims / 2, 2]);                   // (…, d/2, 2): (x₂ᵢ, x₂ᵢ₊₁)
            rotated = stack([pairs.select(last + 1, 1).neg(), pairs.select(last + 1, 0)], last + 1).flatten(last);
        }
        else
        {
            long half = dims / 2;
            rotated = cat([part.narrow(-1, half, half).neg(), part.narrow(-1, 0, half)], -1);
        }
        var embedded = (part * cos).add_(rotated.mul_(sin), One);
        if (dims != x.shape[^1])
            embedded = cat([embedded, x.narrow(-1, dims, x.shape[^1] - dims)], -1);
        return embedded.MoveToOuterDisposeScope();
    }

    /// <summary>Makes <see cref="CosTable"/> and <see cref="SinTable"/> cover <paramref name="position"/>.</summary>
    internal void Cover(int position) => EnsureLength(position + 1);

    /// <summary>cos of every (position, rotary dim) covered so far; owned here.</summary>
    internal Tensor CosTable => _cos!;

    /// <summary>sin, laid out as <see cref="CosTable"/>.</summary>
    internal Tensor SinTable => _sin!;

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
                if (_interleaved)
                {
                    angles[(p * 2 * half) + (2 * i)] = angle;
                    angles[(p * 2 * half) + (2 * i) + 1] = angle;
                }
                else
                {
                    angles[(p * 2 * half) + i] = angle;
                    angles[(p * 2 * half) + half + i] = angle;
                }
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
