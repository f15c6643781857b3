using System.Globalization;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Runtime;

public class WeightArenaTests
{
    [Fact]
    public void Copies_hold_their_sources_values_after_the_arena_is_gone_and_start_64_bytes_apart()
    {
        using var scope = NewDisposeScope();
        var sources = new[]
        {
            randn(768, 768), randn(3), arange(0, 1000, dtype: ScalarType.Int64), randn(17, 5).to(ScalarType.BFloat16),
            randn(300L << 20 >> 2),   // larger than a block: one of its own
            randn(2048, 768),
        };
        Tensor[] copies;
        using (var arena = new WeightArena())
            copies = [.. sources.Select(source => arena.Allocate(source.shape, source.dtype).copy_(source))];
        scope.Attach(copies);   // the arena hands them out detached, to their owner

        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(sources[i].shape, copies[i].shape);
            Assert.Equal(sources[i].dtype, copies[i].dtype);
            Assert.True(copies[i].is_contiguous());
            Assert.True((sources[i] == copies[i]).all().item<bool>(), $"copy {i} differs from its source");
            Assert.Equal(0, Address(copies[i]) % 64);
        }
        // The float32 copies after the first follow it in its block (the big one took a block of its own).
        Assert.Equal(Address(copies[0]) + (768 * 768 * 4), Address(copies[1]));
        Assert.Equal(Address(copies[1]) + 64, Address(copies[5]));
    }

    [Fact]
    public void A_blocks_memory_is_on_2_mb_pages_where_transparent_huge_pages_are_allowed()
    {
        const string Setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(Setting))
            return;   // no smaps to read it from
        using var scope = NewDisposeScope();
        using var arena = new WeightArena();
        using var copy = arena.Allocate([16L << 20 >> 2], ScalarType.Float32).copy_(randn(16L << 20 >> 2));   // 16 MB

        long onHugePages = HugePageBytes(Address(copy));
        if (File.ReadAllText(Setting).Contains("[never]"))
            Assert.Equal(0, onHugePages);
        else
            Assert.True(onHugePages >= 8L << 20, $"{onHugePages:N0} bytes of the 16 MB copy's mapping are on 2 MB pages");
    }

    private static unsafe long Address(Tensor tensor)
    {
        using var first = tensor.flatten().narrow(0, 0, 1);
        fixed (byte* pointer = first.bytes)
            return (long)pointer;
    }

    // AnonHugePages of the mapping that holds the address, from /proc/self/smaps.
    private static long HugePageBytes(long address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && fields[0].Contains('-') && !fields[0].EndsWith(':'))
            {
                string[] range = fields[0].Split('-');
                inside = long.Parse(range[0], NumberStyles.HexNumber) <= address && address < long.Parse(range[1], NumberStyles.HexNumber);
            }
            else if (inside && fields[0] == "AnonHugePages:")
            {
                return long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }
}
