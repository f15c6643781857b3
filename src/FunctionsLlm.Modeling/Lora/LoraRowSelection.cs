using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>
/// Which slot of a <see cref="LoraSlots"/> each row of the next forward passes uses (−1: the base alone), and the
/// per-row mask that keeps a row to its slot: (B, 1, slots · rank), the adapter's scaling on the row's slot's first r
/// columns and 0 elsewhere.
/// </summary>
internal sealed class LoraRowSelection : IDisposable
{
    public LoraRowSelection(IReadOnlyList<int> slots, IReadOnlyList<(double Scaling, int Rank)> adapters, int maxRank, Device device)
    {
        Slots = [.. slots];
        int width = adapters.Count * maxRank;
        var scales = new float[Slots.Length * width];
        for (int row = 0; row < Slots.Length; row++)
        {
            int slot = Slots[row];
            if (slot < 0)
                continue;
            var (scaling, rank) = adapters[slot];
            Array.Fill(scales, (float)scaling, (row * width) + (slot * maxRank), rank);
        }
        Scales = tensor(scales, [Slots.Length, 1, width], ScalarType.Float32, device).DetachFromDisposeScope();
    }

    public int[] Slots { get; }

    public Tensor Scales { get; }

    public void Dispose() => Scales.Dispose();
}
