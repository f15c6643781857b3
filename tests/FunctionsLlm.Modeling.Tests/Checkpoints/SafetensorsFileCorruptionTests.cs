using System.Buffers.Binary;
using System.Text;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

/// <summary>Every way a file can be broken gives a <see cref="CheckpointException"/> naming the file and the fault.</summary>
public sealed class SafetensorsFileCorruptionTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Fixture() => File.ReadAllBytes(RepoPaths.Fixture("models", "tiny-llama", "model.safetensors"));

    private string Save(byte[] bytes)
    {
        var path = _dir.File("broken.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private CheckpointException Fails(byte[] bytes, params string[] phrases)
    {
        var path = Save(bytes);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        foreach (var phrase in phrases)
            Assert.Contains(phrase, e.Message, StringComparison.Ordinal);
        return e;
    }

    /// <summary>The fixture with one header substring replaced by another of the same length (offsets stay valid).</summary>
    private static byte[] FixtureWith(string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = Fixture();
        var (length, json, _) = SafetensorsSpec.Header(bytes);
        var at = json.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' not in the fixture header");
        Encoding.UTF8.GetBytes(to).CopyTo(bytes, 8 + at);
        Assert.Equal(length, SafetensorsSpec.Header(bytes).Length);
        return bytes;
    }

    private static byte[] Hand(string headerJson, int dataBytes) => SafetensorsSpec.Build(headerJson, new byte[dataBytes]);

    [Fact]
    public void Missing_file() =>
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(_dir.File("nope.safetensors"))).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Shorter_than_the_length_field(int length) => Fails(Fixture()[..length], "too short");

    [Fact]
    public void Absurd_header_length()
    {
        var bytes = Fixture();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        Fails(bytes, "absurd");
    }

    [Fact]
    public void Header_length_past_the_end_of_the_file()
    {
        var bytes = Fixture();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        Fails(bytes, "exceeds", "truncated");
    }

    [Fact]
    public void Truncated_in_the_header() => Fails(Fixture()[..100], "exceeds", "truncated");

    [Fact]
    public void Truncated_in_the_data()
    {
        var last = SafetensorsSpec.Entries(Fixture()).MaxBy(e => e.End)!;
        Fails(Fixture()[..^100], $"'{last.Name}'", "truncated");
    }

    [Fact]
    public void Flipped_header_byte_breaks_the_json() => Fails(FixtureWith("{\"model.embed", "[\"model.embed"), "not valid JSON");

    [Fact]
    public void Invalid_utf8_in_the_header()
    {
        var bytes = FixtureWith("model.norm.weight", "model.norm.weighX");
        bytes[8 + SafetensorsSpec.Header(bytes).Json.IndexOf("weighX", StringComparison.Ordinal) + 5] = 0xFF;
        Fails(bytes, "UTF-8");
    }

    [Fact]
    public void Header_that_is_not_an_object() => Fails(Hand("[1,2]", 0), "not an object");

    [Fact]
    public void Unknown_dtype() => Fails(FixtureWith("\"BF16\"", "\"BX16\""), "'model.embed_tokens.weight'", "\"BX16\"", "unsupported dtype");

    [Fact]
    public void Dtype_of_the_spec_this_reader_does_not_support() =>
        Fails(Hand("""{"f8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2), "'f8'", "\"F8_E4M3\"");

    [Fact]
    public void Negative_dimension() =>
        Fails(Hand("""{"x":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}""", 16), "'x'", "negative dimension -1");

    [Fact]
    public void Byte_count_that_disagrees_with_the_shape() =>
        Fails(FixtureWith("[512,64]", "[512,63]"), "'model.embed_tokens.weight'", "65536 bytes", "needs 64512");

    [Fact]
    public void Shape_whose_byte_count_overflows() =>
        Fails(Hand("""{"x":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8), "'x'", "overflows");

    [Fact]
    public void Offsets_past_the_data_section() =>
        Fails(Hand("""{"x":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 16), "'x'", "[8, 24]", "16-byte data section", "truncated");

    [Fact]
    public void Decreasing_offsets() =>
        Fails(Hand("""{"x":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}}""", 8), "'x'", "[8, 0]");

    [Fact]
    public void Overlapping_tensors() =>
        Fails(Hand("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12),
            "'a'", "'b'", "overlap");

    [Fact]
    public void Duplicate_names() =>
        Fails(Hand("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8),
            "'a'", "twice");

    [Fact]
    public void Offsets_that_are_not_a_pair_of_integers()
    {
        Fails(Hand("""{"x":{"dtype":"U8","shape":[1],"data_offsets":[0]}}""", 1), "'x'", "\"data_offsets\" has 1 values");
        Fails(Hand("""{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1.5]}}""", 1), "'x'", "1.5");
        Fails(Hand("""{"x":{"dtype":"U8","shape":[1]}}""", 1), "'x'", "missing array \"data_offsets\"");
        Fails(Hand("""{"x":{"shape":[1],"data_offsets":[0,1]}}""", 1), "'x'", "missing string \"dtype\"");
    }

    [Fact]
    public void Metadata_that_is_not_strings() =>
        Fails(Hand("""{"__metadata__":{"format":"pt","step":3}}""", 0), "__metadata__", "'step'");
}
