using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Runtime;

[CollectionDefinition(nameof(ResidentMemoryTests), DisableParallelization = true)]
public sealed class AloneCollection;

/// <summary>Runs many decode and optimiser steps and bounds how much resident memory grows after warm-up.</summary>
[Collection(nameof(ResidentMemoryTests))]
public class ResidentMemoryTests
{
    private const long AllowedGrowthBytes = 24L << 20;

    [Fact]
    public void Decoding_thousands_of_tokens_keeps_resident_memory_flat()
    {
        NativeRuntime.Configure();
        using var model = ModelLoader.Load(FixtureModel.Get("tiny-qwen3").Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var cache = model.CreateCache(2, 256);
        using var noGrad = no_grad();
        using var token = tensor(new long[] { 17, 23 }, [2, 1]);

        void Decode(int rounds)
        {
            for (int r = 0; r < rounds; r++)
            {
                cache.Reset();
                for (int i = 0; i < 255; i++)
                    model.Forward(token, cache, lastPositionOnly: true).Dispose();
            }
        }

        Decode(2);
        long warm = ResidentBytes();
        Decode(10);
        AssertGrowthBounded(warm, ResidentBytes(), "2550 decode steps");
    }

    [Fact]
    public void Adamw_steps_keep_resident_memory_flat()
    {
        NativeRuntime.Configure();
        using var network = nn.Sequential(nn.Linear(256, 1024), nn.SiLU(), nn.Linear(1024, 256));
        using var optimizer = optim.AdamW(network.parameters(), lr: 1e-3);
        var generator = new Generator(7);

        void Train(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                var x = randn([64, 256], generator: generator);
                var loss = nn.functional.mse_loss(network.forward(x), x);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }

        Train(50);
        long warm = ResidentBytes();
        Train(500);
        AssertGrowthBounded(warm, ResidentBytes(), "500 AdamW steps");
    }

    private static void AssertGrowthBounded(long before, long after, string what)
    {
        long growth = after - before;
        Assert.True(growth < AllowedGrowthBytes, $"{what}: resident memory grew {growth >> 20} MB (from {before >> 20} MB)");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
