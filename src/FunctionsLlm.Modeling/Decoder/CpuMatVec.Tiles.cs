using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The kernels that take several input rows per weight row: the 2×4, 4×4 and 2×8 register tiles.</summary>
internal static partial class CpuMatVec
{
    /// <summary>
    /// Weight rows [begin, end) against every input row: two weight rows times four input rows per pass (8 vector
    /// accumulators), each dot product summed like <see cref="Rows"/> sums it (8 lanes in column order, lane sum, then
    /// the scalar tail). <paramref name="streaming"/> (a decode pass, weights from DRAM): the two rows of a pass come
    /// from the two halves of the range, each stream prefetched <see cref="PrefetchAheadFloats"/> ahead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowsTimesInputs<TLanes, TVector>(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end,
        bool streaming = false)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        int pairs = (end - begin) / 2;
        for (int pair = 0; pair < pairs; pair++)
        {
            int r = streaming ? begin + pair : begin + (2 * pair), r1 = streaming ? r + pairs : r + 1;
            float* w0 = w + ((long)r * columns), w1 = w + ((long)r1 * columns);
            int i = 0;
            for (; i + 4 <= inputRows; i += 4)
            {
                float* x0 = x + ((long)i * columns), x1 = x0 + columns, x2 = x1 + columns, x3 = x2 + columns;
                TVector a0 = default, a1 = default, a2 = default, a3 = default;
                TVector b0 = default, b1 = default, b2 = default, b3 = default;
                int c = 0;
                for (; c + TLanes.Count <= columns; c += TLanes.Count)
                {
                    if (streaming)
                        PrefetchAhead(w0, w1, c);
                    else
                        Prefetch(w0 + c, columns);
                    var v0 = TLanes.Load(w0 + c);
                    var v1 = TLanes.Load(w1 + c);
                    var xv0 = TLanes.Load(x0 + c);
                    var xv1 = TLanes.Load(x1 + c);
                    var xv2 = TLanes.Load(x2 + c);
                    var xv3 = TLanes.Load(x3 + c);
                    a0 = TLanes.Fma(v0, xv0, a0);
                    a1 = TLanes.Fma(v0, xv1, a1);
                    a2 = TLanes.Fma(v0, xv2, a2);
                    a3 = TLanes.Fma(v0, xv3, a3);
                    b0 = TLanes.Fma(v1, xv0, b0);
                    b1 = TLanes.Fma(v1, xv1, b1);
                    b2 = TLanes.Fma(v1, xv2, b2);
                    b3 = TLanes.Fma(v1, xv3, b3);
                }
                Store(y, outputs, i, r, r1, Tail(TLanes.Sum(a0), w0, x0, c, columns), Tail(TLanes.Sum(b0), w1, x0, c, columns));
                Store(y, outputs, i + 1, r, r1, Tail(TLanes.Sum(a1), w0, x1, c, columns), Tail(TLanes.Sum(b1), w1, x1, c, columns));
                Store(y, outputs, i + 2, r, r1, Tail(TLanes.Sum(a2), w0, x2, c, columns), Tail(TLanes.Sum(b2), w1, x2, c, columns));
                Store(y, outputs, i + 3, r, r1, Tail(TLanes.Sum(a3), w0, x3, c, columns), Tail(TLanes.Sum(b3), w1, x3, c, columns));
            }
            for (; i < inputRows; i++)
            {
                // The rows left over from the blocks of four: both weight rows in one pass, each summed as Dot sums it.
                float* xi = x + ((long)i * columns);
                TVector a = default, b = default;
                int c = 0;
                for (; c + TLanes.Count <= columns; c += TLanes.Count)
                {
                    if (streaming)
                        PrefetchAhead(w0, w1, c);
                    else
                        Prefetch(w0 + c, columns);
                    var xv = TLanes.Load(xi + c);
                    a = TLanes.Fma(TLanes.Load(w0 + c), xv, a);
                    b = TLanes.Fma(TLanes.Load(w1 + c), xv, b);
                }
                Store(y, outputs, i, r, r1, Tail(TLanes.Sum(a), w0, xi, c, columns), Tail(TLanes.Sum(b), w1, xi, c, columns));
            }
        }
        for (int r = begin + (2 * pairs); r < end; r++)
        {
            for (int i = 0; i < inputRows; i++)
                y[((long)i * outputs) + r] = Dot<TLanes, TVector>(w + ((long)r * columns), x + ((long)i * columns), columns);
        }
    }

    /// <summary>
    /// Weight rows [begin, end) from DRAM against a decode pass's <paramref name="inputRows"/> (four or more): four
    /// weight rows a pass, one from each quarter of the range (four streams far apart keep DRAM busy), times each group
    /// of four input rows in turn and then the one to three left (16 accumulators, 512-bit code's registers), the four
    /// rows staying in L1 from one group to the next (the rows left used to take a sweep of their own: a 5-row step
    /// 14.0–14.4 ms against 9.6–9.9 for 4 rows, now 11.3–11.4); the rest of the range through
    /// <see cref="RowsTimesInputs"/>; each dot product summed as <see cref="RowsTimesInputs"/> sums it. One group
    /// prefetches each stream <see cref="PrefetchAheadFloats"/> ahead (a 4-row step 12.0 → 9.1 ms against the 2×4 tile
    /// on adjacent pairs). With several, each group asks for the next rows of some of the streams while it computes
    /// from L1, so that the asks spread over the pass and the weights' reading overlaps the arithmetic: the 8-row step
    /// 6–12% faster than two weight rows times all eight with prefetches along the streams, and the asks spread over
    /// both groups up to 10% faster again than all in the second (bench/README.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FourRowsTimesGroups<TLanes, TVector>(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        float* sums = stackalloc float[16];
        int passes = (end - begin) / 4, full = inputRows / 4, groups = (inputRows + 3) / 4;
        for (int pass = 0; pass < passes; pass++)
        {
            int r = begin + pass, r1 = r + passes, r2 = r1 + passes, r3 = r2 + passes;
            float* w0 = w + ((long)r * columns), w1 = w + ((long)r1 * columns), w2 = w + ((long)r2 * columns), w3 = w + ((long)r3 * columns);
            for (int group = 0; group < groups; group++)
            {
                // Stream k's next row is asked for in group k mod groups (with four groups, one stream a group).
                float* own = group switch { 0 => w0, 1 => w1, 2 => w2, _ => w3 };
                float* other = group + groups == 2 ? w2 : group + groups == 3 ? w3 : own;
                var rows = new WeightRows(w0, w1, w2, w3, r, r1, r2, r3);
                int i = group * 4;
                float* inputs = x + ((long)i * columns);
                if (group < full)
                    FourRowsTimesGroup<TLanes, TVector, Count.Four>(rows, inputs, y, columns, outputs, i, groups, own, other, sums);
                else if (inputRows - i == 3)
                    FourRowsTimesGroup<TLanes, TVector, Count.Three>(rows, inputs, y, columns, outputs, i, groups, own, other, sums);
                else if (inputRows - i == 2)
                    FourRowsTimesGroup<TLanes, TVector, Count.Two>(rows, inputs, y, columns, outputs, i, groups, own, other, sums);
                else
                    FourRowsTimesGroup<TLanes, TVector, Count.One>(rows, inputs, y, columns, outputs, i, groups, own, other, sums);
            }
        }
        if (begin + (4 * passes) < end)
            RowsTimesInputs<TLanes, TVector>(w, x, y, columns, outputs, inputRows, begin + (4 * passes), end);
    }

    /// <summary>A pass's four weight rows: where they start and their indices.</summary>
    private readonly unsafe struct WeightRows(float* w0, float* w1, float* w2, float* w3, int r0, int r1, int r2, int r3)
    {
        public readonly float* W0 = w0, W1 = w1, W2 = w2, W3 = w3;
        public readonly int R0 = r0, R1 = r1, R2 = r2, R3 = r3;
    }

    /// <summary>
    /// <see cref="FourRowsTimesGroups"/>' four weight rows against one group of <typeparamref name="TInputs"/> input rows
    /// from <paramref name="x0"/> (four, or the one to three left after the groups of four, which the JIT compiles without
    /// the rest), into output rows from <paramref name="i"/>; with several groups it asks for the next rows of
    /// <paramref name="own"/> and <paramref name="other"/> (the pass's first group reads what the pass before asked for).
    /// Too large to be inlined after all, so optimized at its first call: with .NET's default tiering (the CLI's) it ran
    /// as tier-0 code at first, 20x slower (4-row products of 768 x 768: 0.47 against 0.023 ms, `kernels`).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FourRowsTimesGroup<TLanes, TVector, TInputs>(WeightRows rows, float* x0, float* y, int columns, int outputs, int i, int groups,
        float* own, float* other, float* sums)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
        where TInputs : struct, ICount
    {
        int n = TInputs.Value;
        float* w0 = rows.W0, w1 = rows.W1, w2 = rows.W2, w3 = rows.W3;
        float* x1 = n > 1 ? x0 + columns : x0, x2 = n > 2 ? x1 + columns : x0, x3 = n > 3 ? x2 + columns : x0;
        TVector a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        TVector c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
        int c = 0;
        for (; c + TLanes.Count <= columns; c += TLanes.Count)
        {
            if (groups == 1)
            {
                PrefetchAhead(w0, w1, c);
                PrefetchAhead(w2, w3, c);
            }
            else
            {
                PrefetchNextRows(own, other, c, columns);
            }
            var xv0 = TLanes.Load(x0 + c);
            var xv1 = n > 1 ? TLanes.Load(x1 + c) : default;
            var xv2 = n > 2 ? TLanes.Load(x2 + c) : default;
            var xv3 = n > 3 ? TLanes.Load(x3 + c) : default;
            var v = TLanes.Load(w0 + c);
            a0 = TLanes.Fma(v, xv0, a0);
            if (n > 1)
                a1 = TLanes.Fma(v, xv1, a1);
            if (n > 2)
                a2 = TLanes.Fma(v, xv2, a2);
            if (n > 3)
                a3 = TLanes.Fma(v, xv3, a3);
            v = TLanes.Load(w1 + c);
            b0 = TLanes.Fma(v, xv0, b0);
            if (n > 1)
                b1 = TLanes.Fma(v, xv1, b1);
            if (n > 2)
                b2 = TLanes.Fma(v, xv2, b2);
            if (n > 3)
                b3 = TLanes.Fma(v, xv3, b3);
            v = TLanes.Load(w2 + c);
            c0 = TLanes.Fma(v, xv0, c0);
            if (n > 1)
                c1 = TLanes.Fma(v, xv1, c1);
            if (n > 2)
                c2 = TLanes.Fma(v, xv2, c2);
            if (n > 3)
                c3 = TLanes.Fma(v, xv3, c3);
            v = TLanes.Load(w3 + c);
            d0 = TLanes.Fma(v, xv0, d0);
            if (n > 1)
                d1 = TLanes.Fma(v, xv1, d1);
            if (n > 2)
                d2 = TLanes.Fma(v, xv2, d2);
            if (n > 3)
                d3 = TLanes.Fma(v, xv3, d3);
        }
        TLanes.Sums(a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, sums);
        int r = rows.R0, r1 = rows.R1, r2 = rows.R2, r3 = rows.R3;
        Store(y, outputs, i, r, r1, Tail(sums[0], w0, x0, c, columns), Tail(sums[4], w1, x0, c, columns));
        Store(y, outputs, i, r2, r3, Tail(sums[8], w2, x0, c, columns), Tail(sums[12], w3, x0, c, columns));
        if (n > 1)
        {
            Store(y, outputs, i + 1, r, r1, Tail(sums[1], w0, x1, c, columns), Tail(sums[5], w1, x1, c, columns));
            Store(y, outputs, i + 1, r2, r3, Tail(sums[9], w2, x1, c, columns), Tail(sums[13], w3, x1, c, columns));
        }
        if (n > 2)
        {
            Store(y, outputs, i + 2, r, r1, Tail(sums[2], w0, x2, c, columns), Tail(sums[6], w1, x2, c, columns));
            Store(y, outputs, i + 2, r2, r3, Tail(sums[10], w2, x2, c, columns), Tail(sums[14], w3, x2, c, columns));
        }
        if (n > 3)
        {
            Store(y, outputs, i + 3, r, r1, Tail(sums[3], w0, x3, c, columns), Tail(sums[7], w1, x3, c, columns));
            Store(y, outputs, i + 3, r2, r3, Tail(sums[11], w2, x3, c, columns), Tail(sums[15], w3, x3, c, columns));
        }
    }
}
