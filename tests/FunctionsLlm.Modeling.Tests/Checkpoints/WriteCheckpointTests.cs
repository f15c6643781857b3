using FunctionsLlm.Modeling.Checkpoints;
using TorchSharp;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

public sealed class WriteCheckpointTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly List<torch.Tensor> _owned = [];

    public void Dispose()
    {
        foreach (var tensor in _owned)
            tensor.Dispose();
        _dir.Dispose();
    }

    /// <summary>F32 tensors of the given element counts, filled with distinct values.</summary>
    private List<(string Name, torch.Tensor Tensor)> Floats(params (string Name, int Count)[] specs)
    {
        var tensors = new List<(string, torch.Tensor)>();
        var next = 0f;
        foreach (var (name, count) in specs)
        {
            var tensor = torch.arange(next, next + count, 1f).view(count / 4, 4);
            next += count;
            _owned.Add(tensor);
            tensors.Add((name, tensor));
        }
        return tensors;
    }

    [Fact]
    public void Sharded_like_save_pretrained_with_an_index_transformers_would_write()
    {
        // Bytes: a 400, b 400, c 1200 (over the 1000 limit), d 400, e 400. The greedy split, worked by hand:
        // [a] 400 → [a,b] 800 → c is too big: its own shard, now → d would make 1200: close [a,b] → [d] → [d,e].
        var tensors = Floats(("a", 100), ("b", 100), ("c", 300), ("d", 100), ("e", 100));

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, maxShardBytes: 1000);

        Assert.Equal(
            ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            _dir.FileNames());
        Assert.Equal(
            """
            {
              "metadata": {
                "total_size": 2800
              },
              "weight_map": {
                "a": "model-00002-of-00003.safetensors",
                "b": "model-00002-of-00003.safetensors",
                "c": "model-00001-of-00003.safetensors",
                "d": "model-00003-of-00003.safetensors",
                "e": "model-00003-of-00003.safetensors"
              }
            }

            """,
            File.ReadAllText(_dir.File("model.safetensors.index.json")));
        var shard2 = File.ReadAllBytes(_dir.File("model-00002-of-00003.safetensors"));
        Assert.Equal(["a", "b"], SafetensorsSpec.Entries(shard2).Select(e => e.Name));
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt" }, SafetensorsSpec.Metadata(shard2));

        using var reader = CheckpointReader.Open(_dir.Path);
        Assert.Equal(["a", "b", "c", "d", "e"], reader.Names.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in tensors)
        {
            using var back = reader.Read(name);
            Assert.Equal(SafetensorsSpec.RawBytes(tensor), SafetensorsSpec.RawBytes(back));
            Assert.Equal(tensor.shape, reader.Info(name).Shape);
        }
    }

    [Fact]
    public void Everything_within_the_limit_is_one_file_without_an_index()
    {
        var tensors = Floats(("x", 8), ("y", 4));

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, metadata: new Dictionary<string, string> { ["note"] = "hi" });

        Assert.Equal(["model.safetensors"], _dir.FileNames());
        var bytes = File.ReadAllBytes(_dir.File("model.safetensors"));
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "hi" }, SafetensorsSpec.Metadata(bytes));
        using var reader = CheckpointReader.Open(_dir.Path);
        using var y = reader.Read("y");
        Assert.Equal([8f, 9f, 10f, 11f], y.data<float>().ToArray());
    }

    [Fact]
    public void A_given_format_is_kept()
    {
        SafetensorsWriter.WriteCheckpoint(_dir.Path, Floats(("x", 4)), metadata: new Dictionary<string, string> { ["format"] = "mlx" });

        Assert.Equal("mlx", SafetensorsSpec.Metadata(File.ReadAllBytes(_dir.File("model.safetensors")))["format"]);
    }

    [Fact]
    public void Each_layout_removes_the_other_layouts_files_and_stale_shards_but_nothing_else()
    {
        File.WriteAllText(_dir.File("config.json"), "{}");
        File.WriteAllText(_dir.File("model-extra.safetensors"), "not a shard");
        File.WriteAllText(_dir.File("adapter_model-00001-of-00002.safetensors"), "another base name");
        var tensors = Floats(("a", 100), ("b", 100), ("c", 100));
        string[] others = ["adapter_model-00001-of-00002.safetensors", "config.json", "model-extra.safetensors"];
        string[] Expect(params string[] ours) => [.. others.Concat(ours).Order(StringComparer.Ordinal)];

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, maxShardBytes: 400);
        Assert.Equal(
            Expect("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"),
            _dir.FileNames());

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, maxShardBytes: 800);
        Assert.Equal(
            Expect("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"),
            _dir.FileNames());

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors);
        Assert.Equal(Expect("model.safetensors"), _dir.FileNames());

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, maxShardBytes: 800);
        Assert.Equal(
            Expect("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"),
            _dir.FileNames());
        using var reader = CheckpointReader.Open(_dir.Path);
        Assert.Equal(3, reader.Names.Count);
    }

    [Fact]
    public void Adapter_base_name_round_trips()
    {
        var tensors = Floats(("base_model.model.layers.0.q_proj.lora_A.weight", 16), ("base_model.model.layers.0.q_proj.lora_B.weight", 16));

        SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, baseName: "adapter_model");

        Assert.Equal(["adapter_model.safetensors"], _dir.FileNames());
        using var reader = CheckpointReader.Open(_dir.Path, "adapter_model");
        using var b = reader.Read("base_model.model.layers.0.q_proj.lora_B.weight");
        Assert.Equal(16f, b[0, 0].item<float>());
    }

    [Fact]
    public void Names_repeated_across_shards_are_refused()
    {
        var tensors = Floats(("a", 100), ("b", 100));
        tensors.Add(tensors[0]);

        Assert.Throws<ArgumentException>(() => SafetensorsWriter.WriteCheckpoint(_dir.Path, tensors, maxShardBytes: 400));
        Assert.Empty(_dir.FileNames());
    }
}
