using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// y = W x for one fp32 input row on the CPU. Decoding one token is a matrix-vector product bound by reading W;
/// libtorch runs it at single-thread bandwidth (half of what 2 threads reach, bench/README.md), so this kernel
/// splits the rows over torch's thread count and streams each row once with 256-bit FMAs, 4 rows at a time.
/// </summary>
internal static class CpuMatVec
{
    /// <summary>One row, fp32, CPU, contiguous weight, no gradient needed.</summary>
    public static bool Applies(Tensor input, Tensor weight) =>
        Vector256.IsHardwareAccelerated
        && input.device_type == TorchSharp.DeviceType.CPU
        && input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && input.numel() == weight.shape[1] && weight.is_contiguous()
        && !(is_grad_enabled() && (input.requires_grad || weight.requires_grad));

    public static unsafe Tensor Multiply(Tensor input, Tensor weight, Tensor? bias)
    {
        int rows = (int)weight.shape[0], columns = (int)weight.shape[1];
        long[] shape = [.. input.shape[..^1], rows];
        using var x = input.contiguous();
        var y = empty(shape, ScalarType.Float32);
        // Below ~256 KB of weights a second thread costs more to wake than it saves.
        int threads = (long)rows * columns < (1 << 16) ? 1 : Math.Max(1, Math.Min(get_num_threads(), rows / 64));
        fixed (byte* w = weight.bytes, xs = x.bytes, ys = y.bytes)
        {
            nint wp = (nint)w, xp = (nint)xs, yp = (nint)ys;
            int perThread = ((rows / threads) + 3) / 4 * 4;
            if (threads == 1)
            {
                Rows((float*)wp, (float*)xp, (float*)yp, columns, 0, rows);
            }
            else
            {
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                    Rows((float*)wp, (float*)xp, (float*)yp, columns, t * perThread, Math.Min(rows, (t + 1) * perThread)));
            }
        }
        if (bias is not null)
            y.add_(bias);
        return y;
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
            float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
            for (; c < columns; c++)
            {
                t0 += w0[c] * x[c];
                t1 += w1[c] * x[c];
                t2 += w2[c] * x[c];
                t3 += w3[c] * x[c];
            }
            y[r] = t0;
            y[r + 1] = t1;
            y[r + 2] = t2;
            y[r + 3] = t3;
        }
        for (; r < end; r++)
        {
            float* row = w + ((long)r * columns);
            float sum = 0;
            for (int c = 0; c < columns; c++)
                sum += row[c] * x[c];
            y[r] = sum;
        }
    }
}
