using System.Runtime.CompilerServices;
using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Decoder;

internal static partial class CpuMatVec
{
    /// <summary>
    /// Where <see cref="ThreeRowsTimesInputs{TLanes, TVector, TInputs}"/> keeps its sums until its sweep is done: a row of
    /// <see cref="RowFloats"/> per row triple, as <see cref="ILanes{TVector}.Sums"/> stores them (the first two weight
    /// rows' sixteen sums with the eight input rows, then the third's eight, written twice), the rows one after another,
    /// so that the sweep writes to one place that moves forward. They reach the output rows after the sweep.
    /// </summary>
    private static class Staged
    {
        public const int RowFloats = 32;

        /// <summary>Floats to rent for <paramref name="triples"/> triples, with room to start them on a cache line.</summary>
        public static int Floats(int triples) => (triples * RowFloats) + CacheLines.Of<float>();

        public static unsafe float* Row(float* staged, int triple) => staged + ((long)triple * RowFloats);

        /// <summary>Where in a row the sum of weight row <paramref name="stream"/> (0–2) with an input row is.</summary>
        public static int Offset(int stream, int inputRow) => (8 * stream) + inputRow;

        /// <summary>
        /// Stream s's sums of input row i, triples [0, <paramref name="third"/>), into y[i][begin + s·third …] for the
        /// <paramref name="inputRows"/> input rows.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Unstage(float* staged, float* y, int outputs, int inputRows, int begin, int third)
        {
            for (int i = 0; i < inputRows; i++)
            {
                for (int stream = 0; stream < 3; stream++)
                {
                    float* from = staged + Offset(stream, i), to = y + ((long)i * outputs) + begin + ((long)stream * third);
                    for (int t = 0; t < third; t++)
                        to[t] = from[(long)t * RowFloats];
                }
            }
        }
    }
}
