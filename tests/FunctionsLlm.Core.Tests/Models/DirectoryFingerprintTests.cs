using FunctionsLlm.Core.Models;

namespace FunctionsLlm.Core.Tests.Models;

public sealed class DirectoryFingerprintTests : IDisposable
{
    private readonly TempFolder _folder = new("flm-fingerprint-");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Matches_sha256sum_over_config_and_safetensors_in_byte_order_of_their_names()
    {
        // Written in a scrambled order; the ignored files must not count.
        Write("model-00002-of-00002.safetensors", "second shard\n");
        Write("tokenizer.json", "{}");
        Write("config.json", "{\"model_type\":\"qwen2\",\"hidden_size\":8}\n");
        Write("Z.safetensors", "upper-case names sort first in byte order\n");
        Write("model.safetensors.index.json", "{}");
        Write("weights.SafeTensors", "x");
        Write(Path.Combine("sub", "inner.safetensors"), "ignored");
        Write("model-00001-of-00002.safetensors", "first shard\n");

        // Produced with coreutils from the same files, written with printf '…' > NAME (sub/ and the others included):
        //   export LC_ALL=C; sha256sum $(printf '%s\n' config.json *.safetensors | sort) | sha256sum
        // which hashes the lines for Z.safetensors, config.json, model-00001-…, model-00002-… in that order.
        Assert.Equal("d980771208163edb1488fe70acd21c3df33a869bb441c20e12075db0ed27b3ae",
            await DirectoryFingerprint.ComputeSha256Async(_folder));
    }

    [Fact]
    public async Task A_folder_with_only_a_config_hashes_its_one_line()
    {
        Write("config.json", "{\"model_type\":\"qwen2\",\"hidden_size\":8}\n");

        // printf '{"model_type":"qwen2","hidden_size":8}\n' > config.json; sha256sum config.json | sha256sum
        Assert.Equal("04a2972334ea9ac6cb4a4974448963e36c09d3838fbb3380c2c5f96cc460c35a",
            await DirectoryFingerprint.ComputeSha256Async(_folder));
    }

    [Fact]
    public async Task A_folder_without_config_json_is_not_a_model_folder()
    {
        Write("model.safetensors", "weights");

        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DirectoryFingerprint.ComputeSha256Async(_folder));
        Assert.Contains("No config.json", e.Message, StringComparison.Ordinal);
    }

    private void Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content); // UTF-8 without BOM, as printf writes it
    }
}
