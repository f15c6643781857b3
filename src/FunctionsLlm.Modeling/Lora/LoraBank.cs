using FunctionsLlm.Modeling.Decoder;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>
/// One linear layer's factors for every slot of a <see cref="LoraSlots"/>, stacked and zero-padded to the slots' rank:
/// A (slots · rank, in) and B (out, slots · rank) in fp32, slot s in rows / columns [s · rank, s · rank + r). A slot
/// whose adapter leaves this layer out stays zero here.
/// </summary>
internal sealed class LoraBank : IDisposable
{
    private readonly Tensor _a;
    private readonly Tensor _b;
    private readonly bool[] _holds;
    private readonly int _rank;
    private readonly LoraSlots _owner;

    public LoraBank(LoraSlots owner, LinearLayer layer, int slots, int rank)
    {
        _owner = owner;
        _rank = rank;
        _holds = new bool[slots];
        _a = zeros([slots * rank, layer.InFeatures], ScalarType.Float32, layer.Device).DetachFromDisposeScope();
        _b = zeros([layer.OutFeatures, slots * rank], ScalarType.Float32, layer.Device).DetachFromDisposeScope();
    }

    /// <summary>Copies A (r, in) and B (out, r) into <paramref name="slot"/>, zeroing the rest of its rank.</summary>
    public void Load(int slot, Tensor a, Tensor b)
    {
        Clear(slot);
        long r = a.shape[0];
        using var rowsOfA = _a.narrow(0, slot * _rank, r);
        using var columnsOfB = _b.narrow(1, slot * _rank, r);
        rowsOfA.copy_(a);
        columnsOfB.copy_(b);
        _holds[slot] = true;
    }

    public void Clear(int slot)
    {
        using var rowsOfA = _a.narrow(0, slot * _rank, _rank);
        using var columnsOfB = _b.narrow(1, slot * _rank, _rank);
        rowsOfA.fill_(Zero);
        columnsOfB.fill_(Zero);
        _holds[slot] = false;
    }

    /// <summary>
    /// Each selected row's update scaling_i · B_i A_i x for (B, T, in) inputs, as (B, T, out) fp32: x times every slot's
    /// A at once, each row masked to its own slot's columns and scaled, times every slot's B; zero for rows of the base.
    /// Null when no row is selected whose adapter adapts this layer.
    /// </summary>
    public Tensor? Delta(Tensor input)
    {
        if (_owner.Selection is not { } selection || !selection.Slots.Any(s => s >= 0 && _holds[s]))
            return null;
        using var scope = NewDisposeScope();
        // Project: the CPU matrix-vector kernel when decoding (as for the base weights), so a row's bits do not depend on its batch.
        var h = LinearLayer.Project(input.to(ScalarType.Float32), _a);   // (B, T, slots · rank)
        h.mul_(selection.Scales);                                         // (B, 1, slots · rank)
        return LinearLayer.Project(h, _b).MoveToOuterDisposeScope();     // (B, T, out)
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
