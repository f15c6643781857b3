using System.Runtime.Intrinsics;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// y = W x for up to <see cref="MaxInputRows"/> fp32 input rows on the CPU: decoding one token per sequence. That is
/// bound by reading W, and libtorch runs it at single-thread bandwidth for one row (half of what 2 threads reach,
/// bench/README.md) and far below its GEMM rate for a few rows, so this kernel splits W's rows over torch's thread count and
/// streams each once with 256-bit FMAs, against every input row while it is in cache. Each output is summed in the
/// same order whatever the number of input rows, so a sequence decoded in a batch gets the bits it gets alone.
/// </summary>
internal static class CpuMatVec
{
    /// <summary>Beyond this many input rows (a prompt) libtorch's GEMM is the better kernel.</summary>
    public const int MaxInputRows = 16;

    /// <summary>1 to <see cref="MaxInputRows"/> rows, fp32, CPU, contiguous weight, no gradient needed.</summary>
    public static bool Applies(Tensor input, Tensor weight) =>
        Vector256.IsHardwareAccelerated
        && input.device_type == TorchSharp.DeviceType.CPU
        && input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && input.shape[^1] == weight.shape[1] && input.numel() <= MaxInputRows * weight.shape[1] && weight.is_contiguous()
        && !(is_grad_enabled() && (input.requires_grad || weight.requires_grad));

    public static unsafe Tensor Multiply(Tensor input, Tensor weight, Tensor? bias)
    {
        int rows = (int)weight.shape[0], columns = (int)weight.shape[1];
        int inputRows = (int)(input.numel() / columns);
        long[] shape = [.. input.shape[..^1], rows];
        using var x = input.contiguous();
        var y = empty(shape, ScalarType.Float32);
        fixed (byte* w = weight.bytes, xs = x.bytes, ys = y.bytes)
            Multiply((float*)xs, inputRows, (float*)w, rows, columns, (float*)ys);
        if (bias is not null)
            y.add_(bias, One);
        return y;
    }

    /// <summary>y (inputRows, rows) = x (inputRows, columns) Wᵀ for W (rows, columns), all fp32 in memory that stays put.</summary>
    public static unsafe void Multiply(float* x, int inputRows, float* w, int rows, int columns, float* y)
    {
        // Below ~256 KB of weights a second thread costs more to wake than it saves.
        int threads = (long)rows * columns < (1 << 16) ? 1 : Math.Max(1, Math.Min(get_num_threads(), rows / 64));
        nint wp = (nint)w, xp = (nint)x, yp = (nint)y;
        int perThread = ((rows / threads) + 3) / 4 * 4;
        void Slice(int begin, int end)
        {
            if (inputRows == 1)
                Rows((float*)wp, (float*)xp, (float*)yp, columns, begin, end);
            else
                RowsTimesInputs((float*)wp, (float*)xp, (float*)yp, columns, rows, inputRows, begin, end);
        }
        if (threads == 1)
            Slice(0, rows);
        else
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Slice(t * perThread, Math.Min(rows, (t + 1) * perThread)));
    }

    private static unsafe void Rows(float* w, float* x, float* y, int columns, int begin, int end)
    {
        int r = begin;
        for (; r + 4 <= end; r += 4)
        {
            float* w0 = w + ((long)r * columns), w1 = w0 + columns, w2 = w1 + columns, w3 = w2 + columns;
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            int c = 0;
            for (; c + 8 <= columns; c += 8)
            {
                var xv = Vector256.Load(x + c);
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(w0 + c), xv, s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + c), xv, s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + c), xv, s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + c), xv, s3);
            }
            y[r] = Tail(Vector256.Sum(s0), w0, x, c, columns);
            y[r + 1] = Tail(Vector256.Sum(s1), w1, x, c, columns);
            y[r + 2] = Tail(Vector256.Sum(s2), w2, x, c, columns);
            y[r + 3] = Tail(Vector256.Sum(s3), w3, x, c, columns);
        }
        for (; r < end; r++)
            y[r] = Dot(w + ((long)r * columns), x, columns);
    }

    /// <summary>
    /// Weight rows [begin, end) against every input row: two weight rows times four input rows per pass (8 vector
    /// accumulators), each dot product summed like <see cref="Rows"/> sums it (8 lanes in column order, lane sum, then
    /// the scalar tail).
    /// </summary>
    private static unsafe void RowsTimesInputs(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end)
    {
        int r = begin;
        for (; r + 2 <= end; r += 2)
        {
            float* w0 = w + ((long)r * columns), w1 = w0 + columns;
            int i = 0;
            for (; i + 4 <= inputRows; i += 4)
            {
                float* x0 = x + ((long)i * columns), x1 = x0 + columns, x2 = x1 + columns, x3 = x2 + columns;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                int c = 0;
                for (; c + 8 <= columns; c += 8)
                {
                    var v0 = Vector256.Load(w0 + c);
                    var v1 = Vector256.Load(w1 + c);
                    var xv0 = Vector256.Load(x0 + c);
                    var xv1 = Vector256.Load(x1 + c);
                    var xv2 = Vector256.Load(x2 + c);
                    var xv3 = Vector256.Load(x3 + c);
                    a0 = Vector256.FusedMultiplyAdd(v0, xv0, a0);
                    a1 = Vector256.FusedMultiplyAdd(v0, xv1, a1);
                    a2 = Vector256.FusedMultiplyAdd(v0, xv2, a2);
                    a3 = Vector256.FusedMultiplyAdd(v0, xv3, a3);
                    b0 = Vector256.FusedMultiplyAdd(v1, xv0, b0);
                    b1 = Vector256.FusedMultiplyAdd(v1, xv1, b1);
                    b2 = Vector256.FusedMultiplyAdd(v1, xv2, b2);
                    b3 = Vector256.FusedMultiplyAdd(v1, xv3, b3);
                }
                Store(y, outputs, i, r, Tail(Vector256.Sum(a0), w0, x0, c, columns), Tail(Vector256.Sum(b0), w1, x0, c, columns));
                Store(y, outputs, i + 1, r, Tail(Vector256.Sum(a1), w0, x1, c, columns), Tail(Vector256.Sum(b1), w1, x1, c, columns));
                Store(y, outputs, i + 2, r, Tail(Vector256.Sum(a2), w0, x2, c, columns), Tail(Vector256.Sum(b2), w1, x2, c, columns));
                Store(y, outputs, i + 3, r, Tail(Vector256.Sum(a3), w0, x3, c, columns), Tail(Vector256.Sum(b3), w1, x3, c, columns));
            }
            for (; i < inputRows; i++)
            {
                float* xi = x + ((long)i * columns);
                Store(y, outputs, i, r, Dot(w0, xi, columns), Dot(w1, xi, columns));
            }
        }
        for (; r < end; r++)
        {
            for (int i = 0; i < inputRows; i++)
                y[((long)i * outputs) + r] = Dot(w + ((long)r * columns), x + ((long)i * columns), columns);
        }
    }

    private static unsafe void Store(float* y, int outputs, int inputRow, int r, float first, float second)
    {
        y[((long)inputRow * outputs) + r] = first;
        y[((long)inputRow * outputs) + r + 1] = second;
    }

    private static unsafe float Dot(float* w, float* x, int columns)
    {
        Vector256<float> sum = default;
        int c = 0;
        for (; c + 8 <= columns; c += 8)
            sum = Vector256.FusedMultiplyAdd(Vector256.Load(w + c), Vector256.Load(x + c), sum);
        return Tail(Vector256.Sum(sum), w, x, c, columns);
    }

    private static unsafe float Tail(float sum, float* w, float* x, int from, int columns)
    {
        for (int c = from; c < columns; c++)
            sum += w[c] * x[c];
        return sum;
    }
}
