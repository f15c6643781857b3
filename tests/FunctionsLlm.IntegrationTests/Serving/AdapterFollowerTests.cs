using System.Text;
using Azure.Storage.Blobs;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using FunctionsLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace FunctionsLlm.IntegrationTests.Serving;

/// <summary>
/// The inference app serving a base and the adapters published for it, against Azurite: adapters appear, are replaced,
/// refused and withdrawn as their manifests change, without restarting the app.
/// </summary>
public sealed class AdapterFollowerTests : IDisposable
{
    private static readonly SamplingOptions Greedy = SamplingOptions.Greedy with { StopTokenIds = [] };
    private readonly TempFolder _work = new("flm-adapter-follower-");
    private readonly BlobArtifactStore _store = new(new BlobServiceClient(Azurite.ConnectionString));
    private readonly string _base = $"base{Guid.NewGuid():N}"[..16] + "/";

    public void Dispose() => _work.Dispose();

    private string Fixture => RepoPaths.Fixture("models", "tiny-qwen2");

    private string Adapter(string name, LoraConfig config, int seed)
    {
        string dir = _work.File("adapters", name);
        RandomAdapter.Write(Fixture, dir, config, seed, scale: 0.08);
        return dir;
    }

    [Fact]
    public async Task New_adapter_versions_are_served_as_they_are_published_and_running_requests_finish_on_the_old_one()
    {
        string local = Directory.CreateDirectory(_work.File("base")).FullName;   // the fixture without its reference outputs
        foreach (var file in Directory.GetFiles(Fixture).Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(local, Path.GetFileName(file)));
            await _store.UploadFileAsync(BlobLayout.Models, _base + Path.GetFileName(file), file);
        }
        string baseSha256 = await DirectoryFingerprint.ComputeSha256Async(local);
        string first = Adapter("first", new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] }, 1);
        string second = Adapter("second", new LoraConfig { R = 8, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] }, 2);

        using var engines = new EngineSlot();
        var follower = new AdapterFollower(_store, engines, new AdapterFollowerOptions(_base, _work.File("cache"), "tiny"), NullLogger<AdapterFollower>.Instance);
        Assert.Equal(0, await follower.CheckOnceAsync());
        Assert.Equal(baseSha256, follower.BaseSha256);

        await PublishAsync("bot", "v1", first, baseSha256);
        Assert.Equal(1, await follower.CheckOnceAsync());
        Assert.Equal(0, await follower.CheckOnceAsync());   // unchanged manifest
        var lease = engines.Acquire();
        int[] prompt = [5, 6, 7, 40];
        Assert.Equal(Alone(first, prompt, 8), (await lease.Engine.Submit(prompt, Greedy with { MaxTokens = 8 }, lease.Engine.Resolve("tiny:bot")).Completion).TokenIds);
        Assert.Equal(Alone(null, prompt, 8), (await lease.Engine.Submit(prompt, Greedy with { MaxTokens = 8 }, lease.Engine.Resolve("tiny")).Completion).TokenIds);
        var inFlight = lease.Engine.Submit([1, 2, 3], Greedy with { MaxTokens = 200 }, lease.Engine.Resolve("bot"));

        await PublishAsync("bot", "v2", second, baseSha256);
        Assert.Equal(1, await follower.CheckOnceAsync());
        Assert.Equal(Alone(second, prompt, 8), (await lease.Engine.Submit(prompt, Greedy with { MaxTokens = 8 }, lease.Engine.Resolve("bot")).Completion).TokenIds);
        Assert.Equal(Alone(first, [1, 2, 3], 200), (await inFlight.Completion).TokenIds);
        Assert.Equal("v2", follower.Versions["bot"]);
        Assert.Equal($"{BlobLayout.Models}/{BlobLayout.Model.AdapterVersionPrefix(_base, "bot", "v2")}", lease.Engine.Adapters.Find("bot")!.Source);

        // Trained on another base: refused, v2 keeps serving.
        await PublishAsync("bot", "v3", first, new string('b', 64));
        Assert.Equal(0, await follower.CheckOnceAsync());
        Assert.Contains($"trained on base {new string('b', 64)}", follower.Problems["bot"]);
        Assert.Equal("v2", lease.Engine.Adapters.Find("bot")!.Version);

        // The manifest withdrawn: no longer served.
        await _store.DeleteAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent(_base, "bot"));
        await follower.CheckOnceAsync();
        Assert.Equal(EngineRejection.ModelNotFound, Assert.Throws<EngineRejectedException>(() => lease.Engine.Resolve("bot")).Reason);
        lease.Dispose();
    }

    private async Task PublishAsync(string name, string version, string adapterDir, string baseSha256)
    {
        string prefix = BlobLayout.Model.AdapterVersionPrefix(_base, name, version);
        foreach (var file in Directory.GetFiles(adapterDir))
            await _store.UploadFileAsync(BlobLayout.Models, prefix + Path.GetFileName(file), file);
        var manifest = new AdapterManifest { Version = version, AdapterPrefix = prefix, BaseModel = _base, BaseSha256 = baseSha256, CreatedAt = DateTimeOffset.UtcNow };
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(manifest.ToCanonicalJson()));
        await _store.WriteAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent(_base, name), content);
    }

    /// <summary>The reference: the base with this one adapter attached (PEFT's single-adapter forward), decoded alone.</summary>
    private IReadOnlyList<int> Alone(string? adapterDir, int[] prompt, int tokens)
    {
        using var model = ModelLoader.Load(Fixture, new ModelLoadOptions(CPU, ScalarType.Float32));
        if (adapterDir is not null)
            PeftAdapter.Load(model, adapterDir);
        return new TextGenerator(model, HfTokenizer.Load(Fixture)).Generate(prompt, Greedy with { MaxTokens = tokens }).TokenIds;
    }
}
