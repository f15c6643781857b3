using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The lane widths the kernels are generic over.</summary>
internal static partial class CpuMatVec
{
    /// <summary>
    /// The vector operations of one lane width. The kernels are generic over these and hold the vectors themselves
    /// (<typeparamref name="TVector"/>), not a struct around them: with a wrapper struct the JIT kept the accumulators
    /// out of registers and a one-row product ran at half speed (bench/README.md).
    /// </summary>
    private unsafe interface ILanes<TVector> where TVector : struct
    {
        static abstract int Count { get; }

        static abstract TVector Load(float* source);

        static abstract TVector Fma(TVector a, TVector b, TVector addend);

        static abstract float Sum(TVector lanes);

        /// <summary>The sixteen accumulators' <see cref="Sum"/>s, in order, at <paramref name="target"/>.</summary>
        static abstract void Sums(TVector a0, TVector a1, TVector a2, TVector a3, TVector a4, TVector a5, TVector a6, TVector a7,
            TVector b0, TVector b1, TVector b2, TVector b3, TVector b4, TVector b5, TVector b6, TVector b7, float* target);

        static abstract void Store(TVector lanes, float* target);
    }

    private readonly unsafe struct Lanes256 : ILanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;

        public static Vector256<float> Load(float* source) => Vector256.Load(source);

        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.FusedMultiplyAdd(a, b, addend);

        public static float Sum(Vector256<float> lanes) => Vector256.Sum(lanes);

        public static void Sums(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3, Vector256<float> a4, Vector256<float> a5,
            Vector256<float> a6, Vector256<float> a7, Vector256<float> b0, Vector256<float> b1, Vector256<float> b2, Vector256<float> b3,
            Vector256<float> b4, Vector256<float> b5, Vector256<float> b6, Vector256<float> b7, float* target)
        {
            (target[0], target[1], target[2], target[3], target[4], target[5], target[6], target[7]) =
                (Sum(a0), Sum(a1), Sum(a2), Sum(a3), Sum(a4), Sum(a5), Sum(a6), Sum(a7));
            (target[8], target[9], target[10], target[11], target[12], target[13], target[14], target[15]) =
                (Sum(b0), Sum(b1), Sum(b2), Sum(b3), Sum(b4), Sum(b5), Sum(b6), Sum(b7));
        }

        public static void Store(Vector256<float> lanes, float* target) => lanes.Store(target);
    }

    private readonly unsafe struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;

        public static Vector512<float> Load(float* source) => Vector512.Load(source);

        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.FusedMultiplyAdd(a, b, addend);

        public static float Sum(Vector512<float> lanes) => Vector512.Sum(lanes);

        /// <summary>
        /// Sixteen sums in four rounds of two shuffles and an add over pairs of vectors, each adding the same pairs as
        /// <see cref="Vector512.Sum{T}"/> does (adjacent lanes, then the pairs' sums, in each 128-bit block; then blocks 0
        /// and 1, 2 and 3, and those two): the same bits as sixteen <see cref="Sum"/>s, in a third of their instructions.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Sums(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Vector512<float> a4, Vector512<float> a5,
            Vector512<float> a6, Vector512<float> a7, Vector512<float> b0, Vector512<float> b1, Vector512<float> b2, Vector512<float> b3,
            Vector512<float> b4, Vector512<float> b5, Vector512<float> b6, Vector512<float> b7, float* target)
        {
            var pairs0 = Lanes(a0, a1);
            var pairs1 = Lanes(a2, a3);
            var pairs2 = Lanes(a4, a5);
            var pairs3 = Lanes(a6, a7);
            var pairs4 = Lanes(b0, b1);
            var pairs5 = Lanes(b2, b3);
            var pairs6 = Lanes(b4, b5);
            var pairs7 = Lanes(b6, b7);
            var blocks0 = Blocks(Lanes(pairs0, pairs1), Lanes(pairs2, pairs3));
            var blocks1 = Blocks(Lanes(pairs4, pairs5), Lanes(pairs6, pairs7));
            Blocks(blocks0, blocks1).Store(target);
        }

        // Within each 128-bit block: elements 0+1 and 2+3 of p, then of q.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Lanes(Vector512<float> p, Vector512<float> q) => Avx512F.Shuffle(p, q, Even) + Avx512F.Shuffle(p, q, Odd);

        // Blocks 0+1 and 2+3 of p, then of q.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Blocks(Vector512<float> p, Vector512<float> q) => Avx512F.Shuffle4x128(p, q, Even) + Avx512F.Shuffle4x128(p, q, Odd);

        private const byte Even = 0b10_00_10_00, Odd = 0b11_01_11_01;   // picks 0, 2 (1, 3) of each operand

        public static void Store(Vector512<float> lanes, float* target) => lanes.Store(target);
    }
}
