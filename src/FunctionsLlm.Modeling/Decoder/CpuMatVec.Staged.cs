using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Decoder;

internal static partial class CpuMatVec
{
    /// <summary>
    /// Where <see cref="ThreeRowsTimesInputs{TLanes, TVector, TInputs}"/> keeps its sums until its sweep is done: blocks of
    /// <see cref="Triples"/> row triples one after another, in each block a line per (stream, input row) holding those
    /// triples' sums. The blocks fill in order, so the sweep's writes go to one place that moves forward; they reach the
    /// output rows in whole lines afterwards.
    /// </summary>
    private static class Staged
    {
        public const int Triples = 16;
        private const int BlockFloats = 3 * 8 * Triples;   // three streams × up to eight input rows

        /// <summary>Floats to rent for <paramref name="triples"/> triples, with room to start them on a cache line.</summary>
        public static int Floats(int triples) => ((triples + Triples - 1) / Triples * BlockFloats) + CacheLines.Of<float>();

        /// <summary>Triple <paramref name="triple"/>'s place; <see cref="Offset"/> from there for a stream and an input row.</summary>
        public static unsafe float* Slot(float* staged, int triple) => staged + (triple / Triples * BlockFloats) + (triple % Triples);

        public static int Offset(int stream, int inputRow) => ((8 * stream) + inputRow) * Triples;

        /// <summary>
        /// Stream s's sums of input row i, triples [0, <paramref name="third"/>), into y[i][begin + s·third …] for the
        /// <paramref name="inputRows"/> input rows.
        /// </summary>
        public static unsafe void Unstage<TLanes, TVector>(float* staged, float* y, int outputs, int inputRows, int begin, int third)
            where TLanes : struct, ILanes<TVector>
            where TVector : struct
        {
            for (int first = 0; first < third; first += Triples)
            {
                float* block = Slot(staged, first);
                int count = Math.Min(Triples, third - first);
                float* yi = y + begin + first;
                for (int i = 0; i < inputRows; i++, yi += outputs)
                {
                    for (int stream = 0; stream < 3; stream++)
                        Copy<TLanes, TVector>(block + Offset(stream, i), yi + ((long)stream * third), count);
                }
            }
        }

        private static unsafe void Copy<TLanes, TVector>(float* from, float* to, int count)
            where TLanes : struct, ILanes<TVector>
            where TVector : struct
        {
            if (count == Triples)
            {
                for (int k = 0; k < Triples; k += TLanes.Count)
                    TLanes.Store(TLanes.Load(from + k), to + k);
                return;
            }
            for (int k = 0; k < count; k++)
                to[k] = from[k];
        }
    }
}
