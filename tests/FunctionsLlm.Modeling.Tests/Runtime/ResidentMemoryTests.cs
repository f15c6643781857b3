using System.Runtime.InteropServices;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Runtime;

[CollectionDefinition(nameof(ResidentMemoryTests), DisableParallelization = true)]
public sealed class AloneCollection;

/// <summary>
/// Runs many decode and optimiser steps and bounds how much native memory grows after warm-up. glibc's heap keeps freed
/// blocks for reuse (NativeRuntime), so resident memory is a high-water mark: a small leak first fills the free blocks
/// already held and shows in RSS only later, and one reading moves by tens of MB with what happens to be held. The leak
/// check is therefore on the bytes malloc has handed out and not taken back (mallinfo2: heap in use plus mmapped
/// blocks), read as a trend: eight readings after warm-up, the median of the last four against the first four. The rest
/// of resident memory (RSS less malloc's arenas and mmapped blocks, free chunks included, and less the managed heap's
/// committed bytes: code, stacks, mapped files, anything mmapped outside malloc) is held to the same trend with a wider
/// allowance. RSS itself is not: under a parallel test run glibc's arenas and the collector's heap grew and shrank by
/// 70-85 MB between readings with no leak (malloc's live bytes flat).
/// </summary>
[Collection(nameof(ResidentMemoryTests))]
public class ResidentMemoryTests
{
    private const long AllowedLiveGrowthBytes = 8L << 20;
    private const long AllowedResidentGrowthBytes = 48L << 20;

    [Fact]
    public void Decoding_thousands_of_tokens_keeps_native_memory_flat()
    {
        NativeRuntime.Configure();
        using var model = ModelLoader.Load(FixtureModel.Get("tiny-qwen3").Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var cache = model.CreateCache(2, 256);
        using var noGrad = no_grad();
        using var token = tensor(new long[] { 17, 23 }, [2, 1]);

        AssertFlat("decode rounds of 255 steps", () =>
        {
            cache.Reset();
            for (int i = 0; i < 255; i++)
                model.Forward(token, cache, lastPositionOnly: true).Dispose();
        });
    }

    [Fact]
    public void Adamw_steps_keep_native_memory_flat()
    {
        NativeRuntime.Configure();
        using var network = nn.Sequential(nn.Linear(256, 1024), nn.SiLU(), nn.Linear(1024, 256));
        using var optimizer = optim.AdamW(network.parameters(), lr: 1e-3);
        var generator = new Generator(7);

        AssertFlat("rounds of 125 AdamW steps", () =>
        {
            for (int i = 0; i < 125; i++)
            {
                using var scope = NewDisposeScope();
                var x = randn([64, 256], generator: generator);
                var loss = nn.functional.mse_loss(network.forward(x), x);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        });
    }

    /// <summary>Two rounds of warm-up, then eight rounds each followed by a reading of live and resident bytes.</summary>
    private static void AssertFlat(string what, Action round)
    {
        round();
        round();
        var live = new List<long>();
        var resident = new List<long>();
        for (int i = 0; i < 8; i++)
        {
            round();
            Settle();
            live.Add(LiveNativeBytes());
            resident.Add(ResidentBytes() - MallocHeldBytes() - GC.GetGCMemoryInfo().TotalCommittedBytes);
        }
        AssertTrend(live, AllowedLiveGrowthBytes, $"{what}: bytes allocated by malloc");
        AssertTrend(resident, AllowedResidentGrowthBytes, $"{what}: resident memory outside malloc and the managed heap");
    }

    private static void AssertTrend(List<long> readings, long allowed, string what)
    {
        long growth = Median(readings.Skip(4)) - Median(readings.Take(4));
        Assert.True(growth < allowed, $"{what} grew {growth >> 20} MB (readings {string.Join(", ", readings.Select(r => r >> 20))} MB)");
    }

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static long ResidentBytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Bytes malloc has handed out and not taken back, over all arenas: in use in the heaps plus mmapped blocks.</summary>
    private static long LiveNativeBytes()
    {
        var info = MallInfo2();
        return (long)(info.InUse + info.MappedBytes);
    }

    /// <summary>Bytes malloc holds from the system, over all arenas: the arenas' heaps (free chunks included) plus mmapped blocks.</summary>
    private static long MallocHeldBytes()
    {
        var info = MallInfo2();
        return (long)(info.Arena + info.MappedBytes);
    }

    /// <summary>glibc's struct mallinfo2 (glibc ≥ 2.33), all size_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, FreeChunks, FastChunks, MappedChunks, MappedBytes, MaxTotal, FastFree, InUse, Free, TopReleasable;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();
}
