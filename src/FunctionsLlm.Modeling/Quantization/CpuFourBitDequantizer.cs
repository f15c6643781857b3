using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// Dequantizes a 4-bit weight into fp32 on the CPU in one pass, a block at a time on every libtorch thread: each byte's
/// two code values from a 256-entry table of value pairs, then the block times its absmax. The same fp32 products as
/// <see cref="FourBitQuantizer.Dequantize(Tensor, Tensor, long, Tensor, int)"/>, bit for bit, without its int32 index
/// tensor and gather (bench/README.md, QLoRA).
/// </summary>
internal static class CpuFourBitDequantizer
{
    public static bool Applies(Tensor packed, ScalarType dtype, long count, int blockSize) =>
        Vector256.IsHardwareAccelerated && packed.device_type == TorchSharp.DeviceType.CPU && dtype == ScalarType.Float32
        && count % blockSize == 0 && blockSize % 8 == 0;

    /// <summary>The bits of both values of each byte: the high nibble's value first (the lower address).</summary>
    public static ulong[] PairBits(IReadOnlyList<float> codeValues) =>
        [.. Enumerable.Range(0, 256).Select(b =>
            BitConverter.SingleToUInt32Bits(codeValues[b >> 4]) | ((ulong)BitConverter.SingleToUInt32Bits(codeValues[b & 0x0F]) << 32))];

    public static unsafe Tensor Dequantize(Tensor packed, Tensor absmax, ulong[] pairBits, long[] shape, int blockSize)
    {
        long blocks = shape[0] * shape[1] / blockSize;
        var output = empty(shape, ScalarType.Float32);
        // Below ~64 K values a second thread costs more to wake than it saves.
        int threads = blocks * blockSize < (1 << 16) ? 1 : Math.Max(1, get_num_threads());
        fixed (byte* codes = packed.bytes, scales = absmax.bytes, values = output.bytes)
        fixed (ulong* table = pairBits)
        {
            nint codesAt = (nint)codes, scalesAt = (nint)scales, valuesAt = (nint)values, tableAt = (nint)table;
            void Blocks(long begin, long end)
            {
                for (long block = begin; block < end; block++)
                {
                    byte* source = (byte*)codesAt + (block * blockSize / 2);
                    float* target = (float*)valuesAt + (block * blockSize);
                    for (int i = 0; i < blockSize / 2; i++)
                        ((ulong*)target)[i] = ((ulong*)tableAt)[source[i]];
                    var scale = Vector256.Create(((float*)scalesAt)[block]);
                    for (int i = 0; i < blockSize; i += 8)
                        Vector256.Store(Vector256.Load(target + i) * scale, target + i);
                }
            }
            long perThread = (blocks + threads - 1) / threads;
            if (threads == 1)
                Blocks(0, blocks);
            else
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Blocks(t * perThread, Math.Min(blocks, (t + 1) * perThread)));
        }
        return output;
    }
}
