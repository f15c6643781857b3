using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// A frozen fp32 linear weight held for CPU inference as <see cref="CpuPackedMatVec"/> reads it: (out / 16, in, 16), the
/// sixteen output rows of a block side by side in each column. The only copy of the weight (a loader packs the
/// checkpoint's rows and gives them back); <see cref="Unpack"/> gives the (out, in) values for merges and libtorch. Every
/// product runs on <see cref="CpuPackedMatVec"/>, decode and prompt alike, never with autograd. Owns its tensor.
/// </summary>
public sealed class PackedWeight : IDisposable
{
    // Rows packed between two calls of Pack's callback: the source a loader holds resident at a time.
    private const long ChunkBytes = 4 << 20;

    private PackedWeight(Tensor blocks, long[] shape)
    {
        Blocks = blocks.DetachFromDisposeScope();
        Shape = shape;
        unsafe
        {
            fixed (byte* w = Blocks.bytes)
                Pointer = (nint)w;
        }
    }

    /// <summary>fp32 (out / 16, in, 16).</summary>
    public Tensor Blocks { get; }

    /// <summary>(out, in), read once: the kernels ask for it at every product.</summary>
    public long[] Shape { get; }

    /// <summary>Whether this CPU runs packed products (512-bit vectors) and a weight of <paramref name="shape"/> can be packed.</summary>
    public static bool Packs(long[] shape) =>
        CpuPackedMatVec.Supported && shape.Length == 2 && shape[0] > 0 && shape[1] > 0 && shape[0] % CpuPackedMatVec.BlockRows == 0
        && shape[0] * shape[1] * sizeof(float) <= int.MaxValue;   // its bytes are one span

    /// <summary>
    /// Packs a dense (out, in) weight (see <see cref="Packs"/>), a few MB of rows at a time; <paramref name="packed"/>(first
    /// row, rows) after each (a loader gives their source back).
    /// </summary>
    public static PackedWeight Pack(Tensor weight, Action<long, long>? packed = null) => Pack(weight, packed, arena: null);

    /// <summary>As <see cref="Pack(Tensor, Action{long, long}?)"/>, the blocks in <paramref name="arena"/> where one is given (a loader's).</summary>
    internal static PackedWeight Pack(Tensor weight, Action<long, long>? packed, WeightArena? arena)
    {
        if (!Packs(weight.shape))
            throw new ArgumentException($"a packed weight needs 512-bit vectors and a 2-D weight with rows a multiple of {CpuPackedMatVec.BlockRows}; got [{string.Join(", ", weight.shape)}]");
        long rows = weight.shape[0], columns = weight.shape[1], blocks = rows / CpuPackedMatVec.BlockRows;
        long[] shape = [blocks, columns, CpuPackedMatVec.BlockRows];
        using var scope = NewDisposeScope();
        var target = arena?.Allocate(shape, ScalarType.Float32) ?? empty(shape, ScalarType.Float32);
        var dense = weight.detach();
        long chunk = Math.Max(1, ChunkBytes / (columns * sizeof(float) * CpuPackedMatVec.BlockRows));
        for (long first = 0; first < blocks; first += chunk)
        {
            long count = Math.Min(chunk, blocks - first);
            using (var rowsOf = dense.narrow(0, first * CpuPackedMatVec.BlockRows, count * CpuPackedMatVec.BlockRows))
            using (var source = rowsOf.view(count, CpuPackedMatVec.BlockRows, columns).transpose(1, 2))
            using (var destination = target.narrow(0, first, count))
                destination.copy_(source);
            packed?.Invoke(first * CpuPackedMatVec.BlockRows, count * CpuPackedMatVec.BlockRows);
        }
        return new PackedWeight(target, [rows, columns]);
    }

    /// <summary>The weight's values, (out, in), fp32.</summary>
    public Tensor Unpack()
    {
        using var scope = NewDisposeScope();
        return Blocks.transpose(1, 2).reshape(Shape).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>x Wᵀ + b for fp32 CPU inputs that need no gradient.</summary>
    public unsafe Tensor Project(Tensor input, Tensor? bias)
    {
        if (input.device_type != TorchSharp.DeviceType.CPU || input.dtype != ScalarType.Float32 || input.shape[^1] != Shape[1])
            throw new ArgumentException($"a packed weight [{string.Join(", ", Shape)}] multiplies fp32 CPU inputs of {Shape[1]} columns; got {input.dtype} [{string.Join(", ", input.shape)}] on {input.device}");
        if (is_grad_enabled() && input.requires_grad)
            throw new InvalidOperationException("a packed weight is for inference: load the model without PackedWeights to train through it");
        int rows = (int)Shape[0], columns = (int)Shape[1];
        int inputRows = (int)(input.numel() / columns);
        using var x = input.contiguous();
        var y = empty([.. input.shape[..^1], rows], ScalarType.Float32);
        fixed (byte* xs = x.bytes, ys = y.bytes)
            CpuPackedMatVec.Multiply((float*)xs, inputRows, (float*)Pointer, rows, columns, (float*)ys);
        if (bias is not null)
            y.add_(bias, Scalars.One);
        return y;
    }

    /// <summary>y (inputRows, out) = x (inputRows, in) Wᵀ, all fp32 in memory that stays put.</summary>
    internal unsafe void Multiply(float* x, int inputRows, float* y) =>
        CpuPackedMatVec.Multiply(x, inputRows, (float*)Pointer, (int)Shape[0], (int)Shape[1], y);

    /// <summary>The blocks' first float, read once: a CPU tensor's memory is native and never moves.</summary>
    internal nint Pointer { get; }

    public void Dispose() => Blocks.Dispose();
}
