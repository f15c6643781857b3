using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

public sealed class CheckpointReaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Fixture_model_directory_reads_as_one_file()
    {
        var directory = RepoPaths.Fixture("models", "tiny-qwen3");
        var bytes = File.ReadAllBytes(Path.Combine(directory, "model.safetensors"));
        var entries = SafetensorsSpec.Entries(bytes);

        using var reader = CheckpointReader.Open(directory);

        Assert.Equal(entries.Select(e => e.Name).Order(StringComparer.Ordinal), reader.Names.Order(StringComparer.Ordinal));
        foreach (var entry in entries)
        {
            Assert.Equal(entry.Shape, reader.Info(entry.Name).Shape);
            using var tensor = reader.Read(entry.Name);
            Assert.Equal(SafetensorsSpec.Data(bytes, entry), SafetensorsSpec.RawBytes(tensor));
        }
    }

    [Fact]
    public void A_tensor_released_whole_or_by_row_ranges_reads_the_files_bytes_again()
    {
        var directory = RepoPaths.Fixture("models", "tiny-qwen3");
        var bytes = File.ReadAllBytes(Path.Combine(directory, "model.safetensors"));
        var entries = SafetensorsSpec.Entries(bytes);
        using var reader = CheckpointReader.Open(directory);
        foreach (var entry in entries)
        {
            long rows = reader.Info(entry.Name).Shape is [var r, ..] ? r : 1;
            Action[] releases =
            [
                () => reader.Release(entry.Name),
                () =>
                {
                    reader.Release(entry.Name, 0, rows / 2);
                    reader.Release(entry.Name, rows / 2, rows - (rows / 2) + 5);   // past the end: clipped
                },
            ];
            foreach (var release in releases)
            {
                using (var before = reader.Read(entry.Name))
                    Assert.Equal(SafetensorsSpec.Data(bytes, entry), SafetensorsSpec.RawBytes(before));
                release();
                using var again = reader.Read(entry.Name);
                Assert.Equal(SafetensorsSpec.Data(bytes, entry), SafetensorsSpec.RawBytes(again));
            }
        }
    }

    [Fact]
    public void Read_bytes_gives_any_range_of_a_tensors_data_as_the_file_holds_it_and_not_past_its_end()
    {
        var directory = RepoPaths.Fixture("models", "tiny-qwen3");
        var bytes = File.ReadAllBytes(Path.Combine(directory, "model.safetensors"));
        using var reader = CheckpointReader.Open(directory);
        foreach (var entry in SafetensorsSpec.Entries(bytes))
        {
            byte[] data = SafetensorsSpec.Data(bytes, entry);
            foreach (var (offset, length) in new[] { (0, data.Length), (data.Length / 3, data.Length / 2), (data.Length - 1, 1) })
            {
                var read = new byte[length];
                reader.ReadBytes(entry.Name, offset, read);
                Assert.Equal(data.AsSpan(offset, length).ToArray(), read);
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadBytes(entry.Name, 1, new byte[data.Length]));
        }
    }

    /// <summary>Two shards and an index, all written by hand.</summary>
    private void HandShards(string weightMap)
    {
        File.WriteAllBytes(_dir.File("part-1.safetensors"), SafetensorsSpec.Build(
            """{"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}""", [1, 0, 0, 0, 2, 0, 0, 0]));
        File.WriteAllBytes(_dir.File("part-2.safetensors"), SafetensorsSpec.Build(
            """{"y":{"dtype":"I16","shape":[1],"data_offsets":[0,2]},"unlisted":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}""", [0xFF, 0x7F, 9]));
        File.WriteAllText(_dir.File("model.safetensors.index.json"), """{"metadata": {"total_size": 10}, "weight_map": {""" + weightMap + "}}");
    }

    [Fact]
    public void Shards_are_found_through_the_weight_map()
    {
        HandShards("""  "y": "part-2.safetensors", "x": "part-1.safetensors" """);

        using var reader = CheckpointReader.Open(_dir.Path);

        Assert.Equal(["x", "y"], reader.Names.Order(StringComparer.Ordinal));
        using var x = reader.Read("x");
        using var y = reader.Read("y");
        Assert.Equal([1, 2], x.data<int>().ToArray());
        Assert.Equal((short)0x7FFF, y.item<short>());
        Assert.Equal(SafetensorsDType.I16, reader.Info("y").DType);
    }

    [Fact]
    public void The_single_file_wins_over_an_index_as_in_transformers()
    {
        HandShards(""" "x": "part-1.safetensors" """);
        File.Copy(RepoPaths.Fixture("models", "tiny-llama", "expected_logits.safetensors"), _dir.File("model.safetensors"));

        using var reader = CheckpointReader.Open(_dir.Path);

        Assert.Equal(["logits_0", "logits_1", "logits_2"], reader.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Unknown_name_names_the_directory_and_tensor()
    {
        HandShards(""" "x": "part-1.safetensors" """);
        using var reader = CheckpointReader.Open(_dir.Path);

        var read = Assert.Throws<CheckpointException>(() => reader.Read("unlisted"));
        var info = Assert.Throws<CheckpointException>(() => reader.Info("nope"));

        Assert.Equal(_dir.Path, read.Path);
        Assert.Contains("'unlisted'", read.Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", info.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""" "x": "part-3.safetensors" """, "part-3.safetensors", "does not exist")]
    [InlineData(""" "z": "part-1.safetensors" """, "'z'", "no such tensor")]
    [InlineData(""" "x": "../part-1.safetensors" """, "../part-1.safetensors", "not a file name")]
    [InlineData(""" "x": 3 """, "'x'", "not a file name")]
    public void Index_faults_name_the_index_and_the_entry(string weightMap, string culprit, string problem)
    {
        HandShards(weightMap);

        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(_dir.Path));

        Assert.Equal(_dir.File("model.safetensors.index.json"), e.Path);
        Assert.Contains(culprit, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_without_a_weight_map()
    {
        File.WriteAllText(_dir.File("model.safetensors.index.json"), """{"metadata": {}}""");

        Assert.Contains("weight_map", Assert.Throws<CheckpointException>(() => CheckpointReader.Open(_dir.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_shard_names_the_shard()
    {
        HandShards(""" "x": "part-1.safetensors", "y": "part-2.safetensors" """);
        File.WriteAllBytes(_dir.File("part-2.safetensors"), [1, 2, 3]);

        Assert.Equal(_dir.File("part-2.safetensors"), Assert.Throws<CheckpointException>(() => CheckpointReader.Open(_dir.Path)).Path);
    }

    [Fact]
    public void Directory_without_a_checkpoint()
    {
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.Open(_dir.Path, "adapter_model"));

        Assert.Contains("adapter_model.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("adapter_model.safetensors.index.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => CheckpointReader.Open(_dir.File("missing"))).Message, StringComparison.Ordinal);
    }
}
