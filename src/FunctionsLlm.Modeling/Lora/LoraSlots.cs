using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>
/// PEFT adapters served unmerged over one base model, several at once (multi-LoRA serving): <see cref="Count"/> slots,
/// each holding one adapter of rank at most <see cref="MaxRank"/>. Each adapted linear layer gets a <see cref="LoraBank"/>
/// with every slot's factors, so after <see cref="Select"/> one forward pass adds to each row the update of its own
/// slot's adapter, y = W x + s_i · B_i A_i x, and nothing to rows of the bare base: requests for different adapters
/// (of different ranks and target modules) and for the base decode in the same batch. Only the thread that runs the
/// model may use it.
/// </summary>
public sealed class LoraSlots : IDisposable
{
    private readonly IReadOnlyDictionary<string, LinearLayer> _layers;
    private readonly Dictionary<string, LoraBank> _banks = new(StringComparer.Ordinal);
    private readonly (double Scaling, int Rank)[] _adapters;
    private readonly Device _device;

    /// <summary>Slots on <paramref name="model"/>; a layer's bank is allocated when an adapter first adapts it.</summary>
    public LoraSlots(CausalLM model, int count, int maxRank)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRank, 1);
        if (LoraInjector.LinearLayers(model).Values.Any(l => l.lora_A is not null || l.Bank is not null))
            throw new ArgumentException("the model already has LoRA adapters attached; serve adapters over the bare base", nameof(model));
        _layers = LoraInjector.LinearLayers(model);
        _adapters = new (double, int)[count];
        _device = model.Device;
        Count = count;
        MaxRank = maxRank;
    }

    public int Count { get; }

    public int MaxRank { get; }

    /// <summary>Checks that the adapter in <paramref name="adapterDir"/> fits the model and the slots, reading no weight.</summary>
    /// <exception cref="LoraException">It does not, with the reason.</exception>
    public LoraConfig Check(string adapterDir)
    {
        var config = PeftAdapter.Inspect(adapterDir, _layers);
        CheckRank(config, adapterDir);
        return config;
    }

    /// <summary>Loads the adapter into <paramref name="slot"/>, replacing what it held; the slot is empty if this fails.</summary>
    public LoraConfig Load(int slot, string adapterDir)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Count);
        Clear(slot);
        using var noGrad = no_grad();
        LoraConfig config;
        try
        {
            // One read of the file: PeftAdapter's checks, then the rank, then the factors.
            config = PeftAdapter.Read(adapterDir, _layers, (module, layer, a, b, _) => BankOf(module, layer).Load(slot, a, b),
                accept: c => CheckRank(c, adapterDir));
        }
        catch
        {
            Clear(slot);
            throw;
        }
        _adapters[slot] = (config.Scaling, config.R);
        return config;
    }

    private void CheckRank(LoraConfig config, string adapterDir)
    {
        if (config.R > MaxRank)
            throw new LoraException($"{adapterDir}: the adapter's rank {config.R} is above the largest rank served, {MaxRank} (--max-lora-rank)");
    }

    /// <summary>Empties <paramref name="slot"/>.</summary>
    public void Clear(int slot)
    {
        using var noGrad = no_grad();
        foreach (var bank in _banks.Values)
            bank.Clear(slot);
        _adapters[slot] = default;
    }

    /// <summary>
    /// Makes row i of the model's next forward passes use slot <paramref name="slotPerRow"/>[i] (−1: the base alone) until
    /// the returned handle is disposed.
    /// </summary>
    public IDisposable Select(IReadOnlyList<int> slotPerRow)
    {
        if (Selection is not null)
            throw new InvalidOperationException("a selection is already active");
        if (slotPerRow.Any(s => s < -1 || s >= Count))
            throw new ArgumentOutOfRangeException(nameof(slotPerRow), $"slots are −1 (the base) or 0..{Count - 1}");
        if (slotPerRow.All(s => s < 0))
            return new Selected(this, null);
        Selection = new LoraRowSelection(slotPerRow, _adapters, MaxRank, _device);
        return new Selected(this, Selection);
    }

    internal LoraRowSelection? Selection { get; private set; }

    private LoraBank BankOf(string module, LinearLayer layer)
    {
        if (!_banks.TryGetValue(module, out var bank))
        {
            bank = new LoraBank(this, layer, Count, MaxRank);
            _banks.Add(module, bank);
            layer.Bank = bank;
        }
        return bank;
    }

    public void Dispose()
    {
        Selection?.Dispose();
        Selection = null;
        foreach (var (module, bank) in _banks)
        {
            _layers[module].Bank = null;
            bank.Dispose();
        }
        _banks.Clear();
    }

    private sealed class Selected(LoraSlots owner, LoraRowSelection? selection) : IDisposable
    {
        public void Dispose()
        {
            if (selection is null || owner.Selection != selection)
                return;
            owner.Selection = null;
            selection.Dispose();
        }
    }
}
