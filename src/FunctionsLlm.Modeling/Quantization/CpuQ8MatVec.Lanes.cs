using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>The int8 block products <see cref="CpuQ8MatVec"/>'s kernels are written over, one implementation per instruction set.</summary>
internal static partial class CpuQ8MatVec
{
    /// <summary>
    /// How a CPU sums one block's 32 int8 products into 8 int32 lanes of 4 consecutive products each, as fp32: exact
    /// integers, so every implementation gives the same lanes. <see cref="Prepare"/> is what the weight block contributes
    /// to every input row's lanes, computed once per block.
    /// </summary>
    internal interface IBlockLanes
    {
        static abstract bool IsSupported { get; }

        static abstract bool IsVectorized { get; }

        /// <summary>Puts a product's quantized activations in the form <see cref="Lanes"/> reads.</summary>
        static abstract void PrepareActivations(Span<sbyte> quants);

        static abstract Vector256<sbyte> Prepare(Vector256<sbyte> w);

        static abstract Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x);
    }

    /// <summary>
    /// AVX-VNNI <c>vpdpbusd</c>, which multiplies unsigned by signed bytes, on activations stored as x + 128: each lane
    /// starts at −128 × the sum of its four weights (prepared once per block) and adds (x + 128) · w, which leaves x · w.
    /// </summary>
    internal readonly struct VnniLanes : IBlockLanes
    {
        public static bool IsSupported => AvxVnni.IsSupported && Fma.IsSupported;

        public static bool IsVectorized => true;

        // Optimized at its first call: it runs over every quantized activation of a product, and the first prompt's
        // products otherwise ran its tier-0 code until on-stack replacement.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void PrepareActivations(Span<sbyte> quants)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(quants);
            int i = 0;
            for (; i + Vector256<byte>.Count <= bytes.Length; i += Vector256<byte>.Count)
                (Vector256.Create<byte>(bytes[i..]) ^ Vector256.Create((byte)0x80)).CopyTo(bytes[i..]);
            for (; i < bytes.Length; i++)
                bytes[i] ^= 0x80;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) =>
            (Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)128), w)).AsSByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) =>
            Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(prepared.AsInt32(), x.AsByte(), w));
    }

    /// <summary>
    /// <see cref="VnniLanes"/> with the int32 lanes read as floats without a conversion: each lane's sum starts at the
    /// bits of 1.5 · 2²³ (and the weight block's −128 · Σw), so it ends as the float 1.5 · 2²³ + x · w, and one subtraction
    /// leaves x · w exactly (|x · w| ≤ 4 · 127² is far inside the 2²² that keeps it exact): the float
    /// <c>vcvtdq2ps</c> gives. On Intel cores the conversion took one of the two pipes the <c>vpdpbusd</c> and the FMA
    /// share; the subtraction can run on a third. Used by the pairs of weight rows (<see cref="TwoRowsTimesEight"/>):
    /// 512-token Q8_0 prefills 10% faster, 8-row Q8_0 decode steps 7% (in-process A/B on a Xeon, bench/README.md); in
    /// one weight row's loop (<see cref="DotGroup"/>) it measured 12–18% slower, so that keeps the conversion.
    /// </summary>
    internal readonly struct VnniOffsetLanes : IBlockLanes
    {
        private const int OffsetBits = 0x4B400000;   // the float 1.5 · 2²³

        private const float Offset = 12582912f;

        public static bool IsSupported => VnniLanes.IsSupported;

        public static bool IsVectorized => true;

        public static void PrepareActivations(Span<sbyte> quants) => VnniLanes.PrepareActivations(quants);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) => (VnniLanes.Prepare(w).AsInt32() + Vector256.Create(OffsetBits)).AsSByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) =>
            AvxVnni.MultiplyWideningAndAdd(prepared.AsInt32(), x.AsByte(), w).AsSingle() - Vector256.Create(Offset);
    }

    /// <summary>
    /// AVX2 <c>vpmaddubsw</c>/<c>vpmaddwd</c>, as llama.cpp's AVX2 kernel: |w| as unsigned bytes (prepared once per block)
    /// times x with w's sign, pairs summed to int16 (never saturating: |w|, |x| ≤ 127), then quads to int32.
    /// </summary>
    internal readonly struct Avx2Lanes : IBlockLanes
    {
        public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

        public static bool IsVectorized => true;

        public static void PrepareActivations(Span<sbyte> quants)
        {
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) => Avx2.Sign(w, w);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) =>
            Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(prepared.AsByte(), Avx2.Sign(x, w)), Vector256.Create((short)1)));
    }

    /// <summary>No AVX2: <see cref="Q8Blocks.Dot"/> row by row.</summary>
    internal readonly struct PortableLanes : IBlockLanes
    {
        public static bool IsSupported => true;

        public static bool IsVectorized => false;

        public static void PrepareActivations(Span<sbyte> quants)
        {
        }

        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) => throw new NotSupportedException();

        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) => throw new NotSupportedException();
    }
}
