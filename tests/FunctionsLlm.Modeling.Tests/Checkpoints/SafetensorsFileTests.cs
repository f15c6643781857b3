using System.Buffers.Binary;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Tests;
using TorchSharp;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

public class SafetensorsFileTests
{
    public static TheoryData<string, string> FixtureFiles() => new()
    {
        { "tiny-llama", "model.safetensors" },
        { "tiny-qwen2", "model.safetensors" },
        { "tiny-qwen3", "model.safetensors" },
        { "tiny-llama", "expected_logits.safetensors" },
        { "tiny-qwen2", "expected_logits.safetensors" },
        { "tiny-qwen3", "expected_logits.safetensors" },
    };

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void Fixture_header_matches_the_json_parsed_by_hand(string model, string fileName)
    {
        var path = RepoPaths.Fixture("models", model, fileName);
        var bytes = File.ReadAllBytes(path);
        var expected = SafetensorsSpec.Entries(bytes);

        using var file = SafetensorsFile.Open(path);

        Assert.Equal(path, file.Path);
        Assert.Equal(expected.Select(e => e.Name), file.Tensors.Keys);
        foreach (var entry in expected)
        {
            var info = file.Tensors[entry.Name];
            Assert.Equal(entry.Name, info.Name);
            Assert.Equal(entry.DType, info.DType.ToString());
            Assert.Equal(entry.Shape, info.Shape);
            Assert.Equal((entry.Begin, entry.End), (info.Begin, info.End));
        }
        Assert.Equal(SafetensorsSpec.Metadata(bytes), file.Metadata);
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void Fixture_tensors_hold_the_files_bytes_in_the_files_dtype_and_shape(string model, string fileName)
    {
        var path = RepoPaths.Fixture("models", model, fileName);
        var bytes = File.ReadAllBytes(path);
        using var file = SafetensorsFile.Open(path);

        foreach (var entry in SafetensorsSpec.Entries(bytes))
        {
            using var tensor = file.Read(entry.Name);
            Assert.Equal(entry.DType == "BF16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32, tensor.dtype);
            Assert.Equal(entry.Shape, tensor.shape);
            Assert.Equal(DeviceType.CPU, tensor.device_type);
            Assert.Equal(SafetensorsSpec.Data(bytes, entry), SafetensorsSpec.RawBytes(tensor));
        }
    }

    [Fact]
    public void Bf16_weights_convert_to_the_floats_decoded_by_hand()
    {
        var path = RepoPaths.Fixture("models", "tiny-llama", "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        var entry = SafetensorsSpec.Entries(bytes).Single(e => e.Name == "model.layers.1.mlp.down_proj.weight");
        var raw = SafetensorsSpec.Data(bytes, entry);
        var expected = Enumerable.Range(0, raw.Length / 2)
            .Select(i => SafetensorsSpec.Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(2 * i))))
            .ToArray();
        Assert.Contains(expected, v => v != 0); // a real weight, not padding

        using var file = SafetensorsFile.Open(path);
        using var tensor = file.Read(entry.Name);
        using var floats = tensor.to_type(torch.ScalarType.Float32);

        Assert.Equal([64, 160], floats.shape);
        Assert.Equal(expected, floats.data<float>().ToArray());
        Assert.Equal(expected[160 + 3], floats[1, 3].item<float>()); // row-major
    }

    [Fact]
    public void F32_logits_equal_the_floats_decoded_by_hand()
    {
        var path = RepoPaths.Fixture("models", "tiny-qwen3", "expected_logits.safetensors");
        var bytes = File.ReadAllBytes(path);
        var entry = SafetensorsSpec.Entries(bytes).Single(e => e.Name == "logits_2");
        var raw = SafetensorsSpec.Data(bytes, entry);

        using var file = SafetensorsFile.Open(path);
        using var logits = file.Read("logits_2");

        Assert.Equal([33, 512], logits.shape);
        foreach (var (row, column) in new[] { (0, 0), (0, 511), (17, 42), (32, 511) })
        {
            var expected = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * (row * 512 + column)));
            Assert.Equal(expected, logits[row, column].item<float>());
        }
    }

    [Fact]
    public void Aligned_tensors_are_views_of_one_mapping_and_writes_never_reach_the_file()
    {
        using var dir = new TempFolder("flm-ckpt-");
        var path = dir.File("x.safetensors");
        var original = SafetensorsSpec.Build(
            """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]); // 1.0f, 2.0f
        File.WriteAllBytes(path, original);

        using var file = SafetensorsFile.Open(path);
        using var first = file.Read("x");
        using var second = file.Read("x");
        first.add_(10);

        Assert.Equal([11f, 12f], second.data<float>().ToArray()); // same memory: no copy was made
        Assert.Equal(original, File.ReadAllBytes(path));         // private mapping: the file is untouched
    }

    [Fact]
    public void Misaligned_tensor_is_copied_out_with_the_right_values()
    {
        using var dir = new TempFolder("flm-ckpt-");
        var path = dir.File("odd.safetensors");
        // "b" starts 3 bytes into the (8-aligned) data section: not a multiple of its 4-byte element.
        File.WriteAllBytes(path, SafetensorsSpec.Build(
            """{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[2,1],"data_offsets":[3,11]}}""",
            [7, 8, 9, 0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0])); // 1.0f, -2.5f

        using var file = SafetensorsFile.Open(path);
        using var a = file.Read("a");
        using var b = file.Read("b");
        using var bAgain = file.Read("b");
        b.add_(10);

        Assert.Equal(new byte[] { 7, 8, 9 }, a.data<byte>().ToArray());
        Assert.Equal([2, 1], bAgain.shape);
        Assert.Equal([1f, -2.5f], bAgain.data<float>().ToArray()); // a copy each time
    }

    [Fact]
    public void Scalars_and_zero_size_tensors_read_with_their_shapes()
    {
        using var dir = new TempFolder("flm-ckpt-");
        var path = dir.File("edge.safetensors");
        File.WriteAllBytes(path, SafetensorsSpec.Build(
            """{"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"scalar":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"none":{"dtype":"BF16","shape":[2,0],"data_offsets":[8,8]},"tiny":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}""",
            [0x2A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3F]));

        using var file = SafetensorsFile.Open(path);
        using var empty = file.Read("empty");
        using var scalar = file.Read("scalar");
        using var none = file.Read("none");
        using var tiny = file.Read("tiny");

        Assert.Equal([0, 3], empty.shape);
        Assert.Equal(0, empty.numel());
        Assert.Empty(scalar.shape);
        Assert.Equal(42L, scalar.item<long>());
        Assert.Equal([2, 0], none.shape);
        Assert.Equal(torch.ScalarType.BFloat16, none.dtype);
        Assert.Equal(1f, tiny.to_type(torch.ScalarType.Float32).item<float>());
    }

    [Fact]
    public void Tensors_stay_valid_after_the_file_is_disposed()
    {
        var path = RepoPaths.Fixture("models", "tiny-llama", "expected_logits.safetensors");
        var bytes = File.ReadAllBytes(path);
        var entry = SafetensorsSpec.Entries(bytes).Single(e => e.Name == "logits_1");

        torch.Tensor logits;
        using (var file = SafetensorsFile.Open(path))
            logits = file.Read("logits_1");
        using (logits)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.Equal(SafetensorsSpec.Data(bytes, entry), SafetensorsSpec.RawBytes(logits));
        }
    }

    [Fact]
    public void Read_after_dispose_is_refused()
    {
        var file = SafetensorsFile.Open(RepoPaths.Fixture("models", "tiny-llama", "expected_logits.safetensors"));
        file.Dispose();
        file.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => file.Read("logits_0"));
    }

    [Fact]
    public void A_callers_dispose_scope_frees_the_tensors_it_read_but_not_the_files_mapping()
    {
        using var file = SafetensorsFile.Open(RepoPaths.Fixture("models", "tiny-qwen2", "expected_logits.safetensors"));
        float first;
        using (torch.NewDisposeScope())
        {
            var logits = file.Read("logits_0"); // the first read maps the F32 view of the file inside this scope
            first = logits[0, 0].item<float>();
        }

        using var again = file.Read("logits_0");
        Assert.Equal(first, again[0, 0].item<float>());
    }

    [Fact]
    public void Unknown_tensor_names_the_file_and_the_tensor()
    {
        var path = RepoPaths.Fixture("models", "tiny-qwen3", "model.safetensors");
        using var file = SafetensorsFile.Open(path);

        var e = Assert.Throws<CheckpointException>(() => file.Read("lm_head.weight"));

        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("'lm_head.weight'", e.Message, StringComparison.Ordinal);
    }
}
