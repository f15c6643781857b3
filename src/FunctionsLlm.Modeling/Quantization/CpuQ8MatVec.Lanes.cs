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
