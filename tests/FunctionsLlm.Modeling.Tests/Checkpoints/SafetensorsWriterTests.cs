using System.Text;
using System.Text.Json;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Tests;
using TorchSharp;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Tiny_file_equals_the_bytes_built_by_hand_from_the_spec()
    {
        // Given out of order; the header lists them by name, the data goes largest element first (then by name).
        using var floats = torch.tensor(new[] { 1.0f, -2.5f });
        using var halves = SafetensorsSpec.FromRawBytes([0x80, 0x3F, 0x20, 0xC0, 0xC1, 0x7F], torch.ScalarType.BFloat16, 3);
        using var scalar = torch.tensor(7L);
        var path = _dir.File("tiny.safetensors");

        SafetensorsWriter.Write(path, [("b_float", floats), ("c_long", scalar), ("a_half", halves)], new Dictionary<string, string> { ["format"] = "pt" });

        const string header =
            """{"__metadata__":{"format":"pt"},"a_half":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"b_float":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"c_long":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"""
            + "      "; // 210 + 6 = 216 = 0xD8, so the data starts at 224, a multiple of 8
        byte[] expected =
        [
            0xD8, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(header),
            7, 0, 0, 0, 0, 0, 0, 0,             // c_long = 7
            0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0, // b_float = 1.0f, -2.5f
            0x80, 0x3F, 0x20, 0xC0, 0xC1, 0x7F, // a_half = bf16 1.0, -2.5, a NaN with payload: bits, not values
        ];
        Assert.Equal(216, Encoding.ASCII.GetByteCount(header));
        Assert.Equal(expected, File.ReadAllBytes(path));
        Assert.Equal(["tiny.safetensors"], _dir.FileNames());
    }

    public static TheoryData<torch.ScalarType> AllTypes() =>
    [
        torch.ScalarType.Float32, torch.ScalarType.Float16, torch.ScalarType.BFloat16, torch.ScalarType.Float64,
        torch.ScalarType.Int64, torch.ScalarType.Int32, torch.ScalarType.Int16, torch.ScalarType.Int8,
        torch.ScalarType.Byte, torch.ScalarType.Bool,
    ];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Round_trip_is_bitwise_for_every_dtype(torch.ScalarType type)
    {
        // Random bit patterns (NaNs, denormals, negative zero included), then booleans must be 0/1.
        var random = new Random(1234);
        var elementSize = torch.empty(1, type).element_size();
        var bytes = new byte[(int)(6 * 35 * elementSize)];
        random.NextBytes(bytes);
        if (type == torch.ScalarType.Bool)
            bytes = [.. bytes.Select(b => (byte)(b & 1))];
        using var original = SafetensorsSpec.FromRawBytes(bytes, type, 6, 35);
        var path = _dir.File("all.safetensors");

        SafetensorsWriter.Write(path, [("t", original)]);

        using var file = SafetensorsFile.Open(path);
        using var back = file.Read("t");
        Assert.Equal(type, back.dtype);
        Assert.Equal([6, 35], back.shape);
        Assert.Equal(bytes, SafetensorsSpec.RawBytes(back));
        var entry = Assert.Single(SafetensorsSpec.Entries(File.ReadAllBytes(path)));
        Assert.Equal(bytes, SafetensorsSpec.Data(File.ReadAllBytes(path), entry));
    }

    [Fact]
    public void Round_trip_of_large_mixed_tensors_crosses_chunk_boundaries()
    {
        torch.manual_seed(7);
        using var big = torch.randn(700, 1000);                                    // 2.8 MB: three 1 MiB chunks
        using var bigBf16 = torch.randn(1000, 700).to_type(torch.ScalarType.BFloat16);
        using var halves = torch.randn(3, 5).to_type(torch.ScalarType.Float16);
        using var ids = torch.arange(0, 1000L * 1000 + 1, 1, torch.ScalarType.Int64); // odd count, 8 MB
        var path = _dir.File("mixed.safetensors");

        SafetensorsWriter.Write(path, [("w.f32", big), ("w.bf16", bigBf16), ("w.f16", halves), ("ids", ids)]);

        using var file = SafetensorsFile.Open(path);
        foreach (var (name, tensor) in new[] { ("w.f32", big), ("w.bf16", bigBf16), ("w.f16", halves), ("ids", ids) })
        {
            using var back = file.Read(name);
            Assert.Equal(tensor.dtype, back.dtype);
            Assert.Equal(tensor.shape, back.shape);
            Assert.Equal(SafetensorsSpec.RawBytes(tensor), SafetensorsSpec.RawBytes(back));
        }
    }

    [Fact]
    public void Header_is_padded_with_spaces_to_8_bytes_keys_sorted_and_every_tensor_aligned()
    {
        using var a = torch.ones(3, torch.ScalarType.BFloat16);   // 6 bytes: would misalign what follows it
        using var b = torch.ones(1, torch.ScalarType.Byte);
        using var c = torch.ones(5, torch.ScalarType.Float64);
        using var d = torch.ones(3, torch.ScalarType.Float32);
        using var e = torch.ones(2, torch.ScalarType.Int16);
        var path = _dir.File("order.safetensors");

        SafetensorsWriter.Write(path, [("zeta", d), ("Alpha", a), ("beta", b), ("alpha", c), ("gamma.0", e)], new Dictionary<string, string> { ["k"] = "v", ["a"] = "b" });

        var bytes = File.ReadAllBytes(path);
        var (length, json, dataStart) = SafetensorsSpec.Header(bytes);
        Assert.Equal(0, dataStart % 8);
        Assert.Equal(json.TrimEnd(' ').Length, Encoding.UTF8.GetByteCount(json.TrimEnd(' ')));
        Assert.InRange(length - json.TrimEnd(' ').Length, 0, 7);

        using var document = JsonDocument.Parse(json);
        Assert.Equal(["__metadata__", "Alpha", "alpha", "beta", "gamma.0", "zeta"], document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["a", "k"], document.RootElement.GetProperty("__metadata__").EnumerateObject().Select(p => p.Name));

        var entries = SafetensorsSpec.Entries(bytes);
        var sizes = new Dictionary<string, int> { ["F64"] = 8, ["F32"] = 4, ["BF16"] = 2, ["I16"] = 2, ["U8"] = 1 };
        long expectedBegin = 0;
        foreach (var entry in entries.OrderBy(x => x.Begin))
        {
            Assert.Equal(expectedBegin, entry.Begin); // contiguous, no holes
            Assert.Equal(0, (dataStart + entry.Begin) % sizes[entry.DType]);
            expectedBegin = entry.End;
        }
        Assert.Equal(bytes.Length - dataStart, expectedBegin);
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_in_row_major_order()
    {
        using var matrix = torch.arange(6, torch.ScalarType.Int32).view(2, 3);
        using var transposed = matrix.t(); // [[0,3],[1,4],[2,5]]
        var path = _dir.File("t.safetensors");

        SafetensorsWriter.Write(path, [("t", transposed)]);

        var bytes = File.ReadAllBytes(path);
        var entry = Assert.Single(SafetensorsSpec.Entries(bytes));
        Assert.Equal([3, 2], entry.Shape);
        Assert.Equal(new[] { 0, 3, 1, 4, 2, 5 }.SelectMany(BitConverter.GetBytes), SafetensorsSpec.Data(bytes, entry));
    }

    [Fact]
    public void Fixture_rewritten_gives_the_same_tensors_bit_for_bit()
    {
        var fixture = RepoPaths.Fixture("models", "tiny-qwen2", "model.safetensors");
        var path = _dir.File("copy.safetensors");
        using (var source = SafetensorsFile.Open(fixture))
        {
            var tensors = source.Tensors.Keys.Select(name => (name, source.Read(name))).ToList();
            SafetensorsWriter.Write(path, tensors, source.Metadata);
            foreach (var (_, tensor) in tensors)
                tensor.Dispose();
        }

        var expected = File.ReadAllBytes(fixture);
        var actual = File.ReadAllBytes(path);
        Assert.Equal( // same data, in another order
            expected.Length - SafetensorsSpec.Header(expected).DataStart,
            actual.Length - SafetensorsSpec.Header(actual).DataStart);
        Assert.Equal(SafetensorsSpec.Metadata(expected), SafetensorsSpec.Metadata(actual));
        var actualEntries = SafetensorsSpec.Entries(actual).ToDictionary(e => e.Name);
        foreach (var entry in SafetensorsSpec.Entries(expected))
        {
            Assert.Equal(entry.Shape, actualEntries[entry.Name].Shape);
            Assert.Equal(SafetensorsSpec.Data(expected, entry), SafetensorsSpec.Data(actual, actualEntries[entry.Name]));
        }
    }

    [Fact]
    public void Overwriting_a_longer_file_replaces_it_entirely()
    {
        var path = _dir.File("w.safetensors");
        File.WriteAllBytes(path, new byte[1 << 20]);
        using var small = torch.tensor(new[] { 1f, 2f });

        SafetensorsWriter.Write(path, [("x", small)]);

        Assert.Equal(8 + 56 + 8, new FileInfo(path).Length);
        using (var file = SafetensorsFile.Open(path))
        using (var back = file.Read("x"))
            Assert.Equal([1f, 2f], back.data<float>().ToArray());
        Assert.Equal(["w.safetensors"], _dir.FileNames());
    }

    [Fact]
    public void Overwriting_a_file_that_is_mapped_leaves_earlier_tensors_intact()
    {
        var path = _dir.File("live.safetensors");
        using var one = torch.tensor(new[] { 1f, 1f });
        using var two = torch.tensor(new[] { 2f, 2f, 2f });
        SafetensorsWriter.Write(path, [("x", one)]);

        using var file = SafetensorsFile.Open(path);
        using var before = file.Read("x");
        SafetensorsWriter.Write(path, [("x", two)]);

        Assert.Equal([1f, 1f], before.data<float>().ToArray()); // renamed over, not rewritten in place
        using var reopened = SafetensorsFile.Open(path);
        Assert.Equal([3], reopened.Tensors["x"].Shape);
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_temporary_file()
    {
        var path = _dir.File("keep.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var fine = torch.ones(4);
        using var unreadable = torch.empty([4], device: torch.META); // has a shape and dtype, but no bytes to copy

        Assert.ThrowsAny<Exception>(() => SafetensorsWriter.Write(path, [("a", fine), ("b", unreadable)]));

        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(["keep.safetensors"], _dir.FileNames());
    }

    [Fact]
    public void Bad_inputs_are_refused_before_anything_is_written()
    {
        var path = _dir.File("never.safetensors");
        using var x = torch.ones(2);
        using var complex = torch.ones(2, torch.ScalarType.ComplexFloat32);

        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("x", x), ("x", x)])).Message, StringComparison.Ordinal);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("__metadata__", x)])).Message, StringComparison.Ordinal);
        Assert.Contains("ComplexFloat32", Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("c", complex)])).Message, StringComparison.Ordinal);
        Assert.Empty(_dir.FileNames());
    }

    [Fact]
    public void Empty_checkpoint_and_zero_size_tensors_round_trip()
    {
        var path = _dir.File("empty.safetensors");
        using var none = torch.empty(0, 4);
        using var scalar = torch.tensor(3.5);

        SafetensorsWriter.Write(path, [("none", none), ("scalar", scalar)]);
        SafetensorsWriter.Write(_dir.File("nothing.safetensors"), []);

        using var file = SafetensorsFile.Open(path);
        using var noneBack = file.Read("none");
        using var scalarBack = file.Read("scalar");
        Assert.Equal([0, 4], noneBack.shape);
        Assert.Empty(scalarBack.shape);
        Assert.Equal(3.5, scalarBack.item<double>());
        using var nothing = SafetensorsFile.Open(_dir.File("nothing.safetensors"));
        Assert.Empty(nothing.Tensors);
        Assert.Equal("{}      ", SafetensorsSpec.Header(File.ReadAllBytes(_dir.File("nothing.safetensors"))).Json);
    }
}
