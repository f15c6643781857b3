using System.Runtime.CompilerServices;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The step's products: a layer's rows through its weight (Q8_0, fp32 packed or fp32), its bias and its served adapters.</summary>
internal sealed partial class CpuDecodeStep
{
    /// <summary>The <see cref="_rows"/> rows of <paramref name="input"/> through <paramref name="layer"/> into <paramref name="output"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Project(LinearLayer layer, ReadOnlySpan<float> input, Span<float> output)
    {
        int rows = (int)layer.OutFeatures, columns = (int)layer.InFeatures;
        fixed (float* x = input, y = output)
        {
            if (layer.Q8 is { } q8)
            {
                CpuQ8MatVec.Multiply(x, _rows, q8, y);
            }
            else if (layer.Packed is { } packed)
            {
                packed.Multiply(x, _rows, y);
            }
            else
            {
                fixed (byte* w = layer.weight!.bytes)
                    CpuMatVec.Multiply(x, _rows, (float*)w, rows, columns, y);
            }
        }
        AddBias(layer, output);
        if (layer.Bank is { } bank)
            AddBankDelta(bank, input[..(_rows * columns)], output[..(_rows * rows)], columns);
    }

    /// <summary>
    /// <see cref="_h"/> through two or three layers that read it (q, k, v; gate, up). With Q8_0 weights and no adapter
    /// banks the products share one quantized input and one parallel region (<see cref="CpuQ8MatVec"/>): batch-1 Q8_0
    /// decode 242–256 → 250–272 tokens/s, the 8-row step 10.5 → 9.7–10.0 ms (bench/README.md; row-major F32 measured
    /// no gain). Packed F32 weights share one parallel region too (<see cref="CpuPackedMatVec"/>): steps 0.4–1.4% faster
    /// at 1 and 8 rows (in-process A/B). Each output is the one its product alone gives.
    /// </summary>
    private unsafe void ProjectTogether(LinearLayer first, AlignedFloats firstOutput, LinearLayer second,
        AlignedFloats secondOutput, LinearLayer? third = null, AlignedFloats? thirdOutput = null)
    {
        LinearLayer[] layers = third is null ? [first, second] : [first, second, third];
        AlignedFloats[] outputs = third is null ? [firstOutput, secondOutput] : [firstOutput, secondOutput, thirdOutput!];
        bool q8 = layers.All(layer => layer.Q8 is not null), packed = layers.All(layer => layer.Packed is not null);
        if (layers.Any(layer => layer.Bank is not null) || !(q8 || packed))
        {
            for (int k = 0; k < layers.Length; k++)
                Project(layers[k], _h, outputs[k]);
            return;
        }
        fixed (float* x = _h, y1 = firstOutput, y2 = secondOutput, y3 = thirdOutput)
        {
            nint[] ys = third is null ? [(nint)y1, (nint)y2] : [(nint)y1, (nint)y2, (nint)y3];
            if (q8)
                CpuQ8MatVec.Multiply(x, _rows, [.. layers.Select(layer => layer.Q8!)], ys);
            else
                CpuPackedMatVec.Multiply(x, _rows, [.. layers.Select(layer => layer.Packed!.Pointer)], [.. layers.Select(layer => (int)layer.OutFeatures)], _hidden, ys);
        }
        for (int k = 0; k < layers.Length; k++)
            AddBias(layers[k], outputs[k]);
    }

    private unsafe void AddBias(LinearLayer layer, Span<float> output)
    {
        if (layer.bias is not { } bias)
            return;
        int rows = (int)layer.OutFeatures;
        fixed (byte* b = bias.bytes)
        {
            for (int r = 0; r < _rows; r++)
                Add(output.Slice(r * rows, rows), new ReadOnlySpan<float>((float*)b, rows));
        }
    }

    /// <summary>The served adapters' per-row update (rows without one add nothing), as the libtorch path adds it.</summary>
    private void AddBankDelta(Lora.LoraBank bank, ReadOnlySpan<float> input, Span<float> output, int columns)
    {
        using var scope = NewDisposeScope();
        var x = tensor(input.ToArray(), [_rows, 1, columns], ScalarType.Float32, CPU);
        if (bank.Delta(x) is { } delta)
            Add(output, delta.contiguous().data<float>().ToArray());
    }
}
