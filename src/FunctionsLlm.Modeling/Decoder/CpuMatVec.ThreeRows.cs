using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// The tile for five to eight decode rows, and for a prompt's blocks of eight: three weight rows times every input row,
/// its sums staged.
/// </summary>
internal static partial class CpuMatVec
{
    /// <summary>
    /// Weight rows [begin, end) from DRAM against a decode pass's five to eight input rows (<typeparamref name="TInputs"/>)
    /// in one pass: three weight rows at a time, one from each third of the range, times every input row (24
    /// accumulators, 512-bit code's registers), each stream asked for <see cref="ThreeStreamsAheadFloats"/> ahead; the
    /// rows left after the thirds through <see cref="RowsTimesInputs"/>; each dot product summed as
    /// <see cref="RowsTimesInputs"/> sums it. One phase (no second group re-reading the rows from L1), the weights'
    /// lines asked for early rather than waited on. The decode step against <see cref="FourRowsTimesGroups"/>
    /// (in-process A/B, five runs): 8 rows 2-4% faster, 7 rows 2-4%, 6 rows 4%, 5 rows 14% (bench/README.md).
    /// Up to 2,048 columns (measured), wider than <see cref="ColumnSpan"/> in two passes with the 24 sums of each triple
    /// carried from the first to the second, so that the input rows' span stays in L1 (down's eight rows of 2,048
    /// columns are 64 KB): down's products at 8 rows 10-12% faster than in one pass (in-process A/B). The sums are
    /// staged (<see cref="Staged"/>) and reach <paramref name="y"/> after the sweep: stored there as they came, one float
    /// into each of 24 rows of y a triple, the step's products at 8 rows took 15–22% longer; and with them staged, the
    /// input rows addressed from three pointers (eight, the JIT reloaded from the stack every iteration) took 7.5% less
    /// (bench/README.md). As a <paramref name="prompt"/>'s block of eight against a panel already in L2 (see
    /// <see cref="Prompt"/>): one pass over every column, nothing asked for ahead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ThreeRowsTimesInputs<TLanes, TVector, TInputs>(float* w, float* x, float* y, int columns, int outputs, int begin, int end,
        bool prompt = false)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
        where TInputs : struct, ICount
    {
        int third = (end - begin) / 3;
        bool twoPasses = !prompt && columns > ColumnSpan;
        var stagedArray = ArrayPool<float>.Shared.Rent(Staged.Floats(third));
        var carryArray = twoPasses ? ArrayPool<float>.Shared.Rent((third * 24 * TLanes.Count) + CacheLines.Of<float>()) : null;
        fixed (float* stagedStart = stagedArray, carryStart = carryArray)
        {
            float* staged = CacheLines.NextLine(stagedStart);
            if (twoPasses)
            {
                float* carry = CacheLines.NextLine(carryStart);
                ThreeRowsPass<TLanes, TVector, TInputs>(w, x, columns, begin, third, 0, ColumnSpan, null, carry, null, prefetch: true);
                ThreeRowsPass<TLanes, TVector, TInputs>(w, x, columns, begin, third, ColumnSpan, columns, carry, null, staged, prefetch: true);
            }
            else
            {
                ThreeRowsPass<TLanes, TVector, TInputs>(w, x, columns, begin, third, 0, columns, null, null, staged, prefetch: !prompt);
            }
            Staged.Unstage(staged, y, outputs, TInputs.Value, begin, third);
        }
        ArrayPool<float>.Shared.Return(stagedArray);
        if (carryArray is not null)
            ArrayPool<float>.Shared.Return(carryArray);
        if (begin + (3 * third) < end)
            RowsTimesInputs<TLanes, TVector>(w, x, y, columns, outputs, TInputs.Value, begin + (3 * third), end);
    }

    /// <summary>
    /// <see cref="ThreeRowsTimesInputs"/> over columns [<paramref name="from"/>, <paramref name="to"/>): each triple's 24
    /// sums start from <paramref name="carriedIn"/> (or zero) and go on to <paramref name="carryOut"/> when a pass follows,
    /// else are summed up (with the columns past the last whole vector) into <paramref name="staged"/>. With
    /// <paramref name="prefetch"/> a stream asks for the line it reads 2 KB later in this pass: past the pass's end of a
    /// row, that is in the next row's span.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ThreeRowsPass<TLanes, TVector, TInputs>(float* w, float* x, int columns, int begin, int third, int from, int to,
        float* carriedIn, float* carryOut, float* staged, bool prefetch)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
        where TInputs : struct, ICount
    {
        int n = TInputs.Value, k = TLanes.Count;
        float* x0 = x + from, x3 = x0 + (3 * columns), x6 = x0 + (6 * columns);
        nint stride = columns;
        int vectors = (to - from) / k, span = to - from;
        // The iteration from which the line 2 KB ahead lies in the next row's span (those between are this pass's to skip).
        int nextRowFrom = Math.Max(0, (span - ThreeStreamsAheadFloats + k - 1) / k);
        nint skip = columns - span;
        for (int t = 0; t < third; t++)
        {
            int r = begin + t, r1 = r + third, r2 = r1 + third;
            float* w0 = w + ((long)r * columns), w1 = w + ((long)r1 * columns), w2 = w + ((long)r2 * columns);
            TVector a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            TVector b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            TVector c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            if (carriedIn is not null)
            {
                float* at = carriedIn + (t * 24 * k);
                (a0, a1, a2, a3, a4, a5, a6, a7) = (TLanes.Load(at), TLanes.Load(at + k), TLanes.Load(at + (2 * k)), TLanes.Load(at + (3 * k)),
                    TLanes.Load(at + (4 * k)), TLanes.Load(at + (5 * k)), TLanes.Load(at + (6 * k)), TLanes.Load(at + (7 * k)));
                (b0, b1, b2, b3, b4, b5, b6, b7) = (TLanes.Load(at + (8 * k)), TLanes.Load(at + (9 * k)), TLanes.Load(at + (10 * k)), TLanes.Load(at + (11 * k)),
                    TLanes.Load(at + (12 * k)), TLanes.Load(at + (13 * k)), TLanes.Load(at + (14 * k)), TLanes.Load(at + (15 * k)));
                (c0, c1, c2, c3, c4, c5, c6, c7) = (TLanes.Load(at + (16 * k)), TLanes.Load(at + (17 * k)), TLanes.Load(at + (18 * k)), TLanes.Load(at + (19 * k)),
                    TLanes.Load(at + (20 * k)), TLanes.Load(at + (21 * k)), TLanes.Load(at + (22 * k)), TLanes.Load(at + (23 * k)));
            }
            // The eight input rows from three moving pointers and the row stride (1x and 2x it fold into the loads).
            float* p0 = x0, p3 = x3, p6 = x6, q0 = w0 + from, q1 = w1 + from, q2 = w2 + from;
            for (int v = 0; v < vectors; v++)
            {
                if (prefetch && Sse.IsSupported)
                {
                    nint ahead = ThreeStreamsAheadFloats + (v >= nextRowFrom ? skip : 0);
                    Sse.Prefetch0(q0 + ahead);
                    Sse.Prefetch0(q1 + ahead);
                    Sse.Prefetch0(q2 + ahead);
                }
                var v0 = TLanes.Load(q0);
                var v1 = TLanes.Load(q1);
                var v2 = TLanes.Load(q2);
                var xv = TLanes.Load(p0);
                (a0, b0, c0) = (TLanes.Fma(v0, xv, a0), TLanes.Fma(v1, xv, b0), TLanes.Fma(v2, xv, c0));
                xv = TLanes.Load(p0 + stride);
                (a1, b1, c1) = (TLanes.Fma(v0, xv, a1), TLanes.Fma(v1, xv, b1), TLanes.Fma(v2, xv, c1));
                xv = TLanes.Load(p0 + (2 * stride));
                (a2, b2, c2) = (TLanes.Fma(v0, xv, a2), TLanes.Fma(v1, xv, b2), TLanes.Fma(v2, xv, c2));
                xv = TLanes.Load(p3);
                (a3, b3, c3) = (TLanes.Fma(v0, xv, a3), TLanes.Fma(v1, xv, b3), TLanes.Fma(v2, xv, c3));
                xv = TLanes.Load(p3 + stride);
                (a4, b4, c4) = (TLanes.Fma(v0, xv, a4), TLanes.Fma(v1, xv, b4), TLanes.Fma(v2, xv, c4));
                if (n > 5)
                {
                    xv = TLanes.Load(p3 + (2 * stride));
                    (a5, b5, c5) = (TLanes.Fma(v0, xv, a5), TLanes.Fma(v1, xv, b5), TLanes.Fma(v2, xv, c5));
                }
                if (n > 6)
                {
                    xv = TLanes.Load(p6);
                    (a6, b6, c6) = (TLanes.Fma(v0, xv, a6), TLanes.Fma(v1, xv, b6), TLanes.Fma(v2, xv, c6));
                }
                if (n > 7)
                {
                    xv = TLanes.Load(p6 + stride);
                    (a7, b7, c7) = (TLanes.Fma(v0, xv, a7), TLanes.Fma(v1, xv, b7), TLanes.Fma(v2, xv, c7));
                }
                p0 += k;
                p3 += k;
                p6 += k;
                q0 += k;
                q1 += k;
                q2 += k;
            }
            if (carryOut is not null)
            {
                float* at = carryOut + (t * 24 * k);
                TLanes.Store(a0, at); TLanes.Store(a1, at + k); TLanes.Store(a2, at + (2 * k)); TLanes.Store(a3, at + (3 * k));
                TLanes.Store(a4, at + (4 * k)); TLanes.Store(a5, at + (5 * k)); TLanes.Store(a6, at + (6 * k)); TLanes.Store(a7, at + (7 * k));
                TLanes.Store(b0, at + (8 * k)); TLanes.Store(b1, at + (9 * k)); TLanes.Store(b2, at + (10 * k)); TLanes.Store(b3, at + (11 * k));
                TLanes.Store(b4, at + (12 * k)); TLanes.Store(b5, at + (13 * k)); TLanes.Store(b6, at + (14 * k)); TLanes.Store(b7, at + (15 * k));
                TLanes.Store(c0, at + (16 * k)); TLanes.Store(c1, at + (17 * k)); TLanes.Store(c2, at + (18 * k)); TLanes.Store(c3, at + (19 * k));
                TLanes.Store(c4, at + (20 * k)); TLanes.Store(c5, at + (21 * k)); TLanes.Store(c6, at + (22 * k)); TLanes.Store(c7, at + (23 * k));
                continue;
            }
            float* row = Staged.Row(staged, t);
            TLanes.Sums(a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7, row);
            TLanes.Sums(c0, c1, c2, c3, c4, c5, c6, c7, c0, c1, c2, c3, c4, c5, c6, c7, row + 16);
            int c = from + (vectors * k);
            if (c < columns)
            {
                float* xi = x;
                for (int i = 0; i < n; i++, xi += columns)
                {
                    row[Staged.Offset(0, i)] = Tail(row[Staged.Offset(0, i)], w0, xi, c, columns);
                    row[Staged.Offset(1, i)] = Tail(row[Staged.Offset(1, i)], w1, xi, c, columns);
                    row[Staged.Offset(2, i)] = Tail(row[Staged.Offset(2, i)], w2, xi, c, columns);
                }
            }
        }
    }
}
