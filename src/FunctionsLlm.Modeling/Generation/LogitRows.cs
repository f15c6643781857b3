using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// Greedy picks and log-probabilities read straight from rows of fp32 logits in CPU memory, in 256-bit lanes, the rows
/// of a batch spread over the kernel threads (their workers spin between decode steps anyway). As libtorch ops (argmax
/// over the batch, a log_softmax per row asking for log-probabilities) they took 0.45 and 0.23–0.33 ms of an 8-row
/// serving step of 10–13 ms, while the kernel worker waited (bench/README.md). Anywhere else (CUDA, other dtypes) the
/// callers keep libtorch's ops. The row loops are optimized at their first call, as the kernels are (tier-0 code would
/// run the first calls of a served model's life several times slower).
/// </summary>
internal static class LogitRows
{
    private static int Lanes => Vector256<float>.Count;

    /// <summary>Whether <paramref name="logits"/> can be read here: fp32, contiguous, in CPU memory.</summary>
    public static bool Readable(Tensor logits) =>
        logits.device_type == TorchSharp.DeviceType.CPU && logits.dtype == ScalarType.Float32 && logits.is_contiguous();

    /// <summary>Row <paramref name="row"/> of <paramref name="logits"/> (…, vocab), which must be <see cref="Readable"/>.</summary>
    public static ReadOnlySpan<float> Row(Tensor logits, int row)
    {
        int vocab = (int)logits.shape[^1];
        return MemoryMarshal.Cast<byte, float>(logits.bytes).Slice(row * vocab, vocab);
    }

    /// <summary><see cref="Argmax(ReadOnlySpan{float})"/> of each of <paramref name="rows"/> of (rows, vocab) logits, into ids[row].</summary>
    public static void Argmax(Tensor logits, int[] rows, int[] ids) =>
        EachRow(logits, rows, (k, row) => ids[rows[k]] = Argmax(row));

    /// <summary><see cref="LogSoftmaxShift(ReadOnlySpan{float})"/> of each of <paramref name="rows"/> of (rows, vocab) logits.</summary>
    public static (float Max, float LogSum)[] LogSoftmaxShifts(Tensor logits, int[] rows)
    {
        var shifts = new (float Max, float LogSum)[rows.Length];
        EachRow(logits, rows, (k, row) => shifts[k] = LogSoftmaxShift(row));
        return shifts;
    }

    /// <summary>
    /// torch.argmax's pick, in one pass: the first NaN if the row has one, else the first of its largest values (each
    /// lane keeps its first largest value and where it was; the lowest position among the lanes holding the maximum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Argmax(ReadOnlySpan<float> row)
    {
        ref float start = ref MemoryMarshal.GetReference(row);
        var best = Vector256.Create(float.NegativeInfinity);
        var at = Vector256.Create(-1);
        var position = Vector256<int>.Indices;
        var step = Vector256.Create(Lanes);
        var nans = Vector256<float>.Zero;
        int i = 0;
        for (; i + Lanes <= row.Length; i += Lanes, position += step)
        {
            var v = Vector256.LoadUnsafe(ref start, (nuint)i);
            nans |= ~Vector256.Equals(v, v);
            var greater = Vector256.GreaterThan(v, best);
            best = Vector256.ConditionalSelect(greater, v, best);
            at = Vector256.ConditionalSelect(greater.AsInt32(), position, at);
        }
        if (nans != Vector256<float>.Zero || IndexOfNaN(row[i..]) >= 0)
            return IndexOfNaN(row);
        float max = float.NegativeInfinity;
        int first = 0;
        for (int lane = 0; lane < Lanes; lane++)
        {
            if (at[lane] >= 0 && (best[lane] > max || (best[lane] == max && at[lane] < first)))
                (max, first) = (best[lane], at[lane]);
        }
        for (; i < row.Length; i++)
        {
            if (row[i] > max)
                (max, first) = (row[i], i);
        }
        return first;
    }

    /// <summary>
    /// What log_softmax subtracts from a row's logits, as two terms: its maximum and the log of Σ exp(x − maximum), so
    /// that a logit's log-probability is (x − <c>Max</c>) − <c>LogSum</c>, as libtorch computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Max, float LogSum) LogSoftmaxShift(ReadOnlySpan<float> row)
    {
        ref float start = ref MemoryMarshal.GetReference(row);
        var maxima = Vector256.Create(float.NegativeInfinity);
        int i = 0;
        for (; i + Lanes <= row.Length; i += Lanes)
            maxima = Vector256.MaxNative(Vector256.LoadUnsafe(ref start, (nuint)i), maxima);
        float max = float.NegativeInfinity;
        for (int lane = 0; lane < Lanes; lane++)
            max = Math.Max(max, maxima[lane]);
        for (; i < row.Length; i++)
            max = Math.Max(max, row[i]);
        // A NaN anywhere makes the sum NaN, and every log-probability with it, as in libtorch.
        var shift = Vector256.Create(max);
        var sums = Vector256<float>.Zero;
        for (i = 0; i + Lanes <= row.Length; i += Lanes)
            sums += Vector256.Exp(Vector256.LoadUnsafe(ref start, (nuint)i) - shift);
        float sum = Vector256.Sum(sums);
        for (; i < row.Length; i++)
            sum += MathF.Exp(row[i] - max);
        return (max, MathF.Log(sum));
    }

    private static int IndexOfNaN(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
                return i;
        }
        return -1;
    }

    private delegate void RowBody(int k, ReadOnlySpan<float> row);

    // body(k, row rows[k]) for every k, the rows spread over the kernel threads, a few to each.
    private static unsafe void EachRow(Tensor logits, int[] rows, RowBody body)
    {
        int vocab = (int)logits.shape[^1], parts = Math.Max(1, Math.Min(get_num_threads(), rows.Length / 2));
        fixed (byte* data = logits.bytes)
        {
            nint start = (nint)data;
            KernelThreads.Run(parts, part =>
            {
                for (int k = part; k < rows.Length; k += parts)
                    body(k, new ReadOnlySpan<float>((float*)start + ((long)rows[k] * vocab), vocab));
            });
        }
    }
}
