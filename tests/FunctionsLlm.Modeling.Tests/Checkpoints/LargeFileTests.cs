using System.Buffers.Binary;
using System.Text;
using FunctionsLlm.Modeling.Checkpoints;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LargeFileCollection
{
    /// <summary>Alone, so that resident-memory readings are not disturbed by other tests.</summary>
    public const string Name = "Large files";
}

/// <summary>Multi-GB files, made sparse (a few KB on disk) by writing only the header and the tail.</summary>
[Collection(LargeFileCollection.Name)]
public sealed class LargeFileTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A sparse file: one U8 tensor of <paramref name="bigBytes"/> zeros, then four F32s after it.</summary>
    private string SparseFile(long bigBytes, float[] tail)
    {
        var header = Encoding.ASCII.GetBytes(
            $"{{\"big\":{{\"dtype\":\"U8\",\"shape\":[{bigBytes}],\"data_offsets\":[0,{bigBytes}]}},"
            + $"\"tail\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[{bigBytes},{bigBytes + 16}]}}}}");
        var headerLength = (header.Length + 7) / 8 * 8;
        var path = _dir.File("big.safetensors");
        using var stream = new FileStream(path, FileMode.CreateNew);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerLength);
        stream.Write(prefix);
        stream.Write(header);
        stream.Write(Encoding.ASCII.GetBytes(new string(' ', headerLength - header.Length)));
        stream.Position = 8 + headerLength + bigBytes;
        foreach (var value in tail)
            stream.Write(BitConverter.GetBytes(value));
        return path;
    }

    [Fact]
    public void Offsets_past_4_GiB_read_correctly()
    {
        const long big = 4_500_000_000;
        var path = SparseFile(big, [1.5f, -2f, 3f, 1e30f]);

        using var file = SafetensorsFile.Open(path);
        using var tail = file.Read("tail");
        using var bigTensor = file.Read("big");

        Assert.Equal(big, file.Tensors["tail"].Begin);
        Assert.Equal([1.5f, -2f, 3f, 1e30f], tail.data<float>().ToArray());
        Assert.Equal([big], bigTensor.shape);
        Assert.Equal(0, bigTensor[big - 1].item<byte>());
    }

    [Fact]
    public void Opening_and_reading_maps_the_file_instead_of_loading_it()
    {
        const long big = 1L << 30;
        var path = SparseFile(big, [1f, 2f, 3f, 4f]);
        var before = ResidentBytes();

        using var file = SafetensorsFile.Open(path);
        using var bigTensor = file.Read("big");
        using var tail = file.Read("tail");
        var after = ResidentBytes();

        Assert.Equal([1f, 2f, 3f, 4f], tail.data<float>().ToArray());
        Assert.True(after - before < 100L << 20, $"resident memory grew by {(after - before) >> 20} MiB for a 1 GiB file");
    }

    private static long ResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
