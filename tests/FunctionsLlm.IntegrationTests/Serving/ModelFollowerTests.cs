using System.Text;
using Azure.Storage.Blobs;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace FunctionsLlm.IntegrationTests.Serving;

/// <summary>The inference app's hot swap against Azurite: publish a version, serve it, publish another, swap.</summary>
public sealed class ModelFollowerTests : IDisposable
{
    private static readonly SamplingOptions Greedy = SamplingOptions.Greedy with { StopTokenIds = [] };
    private readonly TempFolder _cache = new("flm-follower-");
    private readonly BlobArtifactStore _store = new(new BlobServiceClient(Azurite.ConnectionString));
    private readonly string _model = $"bot{Guid.NewGuid():N}"[..16];

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task A_new_manifest_swaps_the_served_version_without_dropping_the_request_in_flight()
    {
        using var engines = new EngineSlot();
        var follower = new ModelFollower(_store, engines, new ModelFollowerOptions(_model, _cache), NullLogger<ModelFollower>.Instance);
        Assert.False(await follower.CheckOnceAsync());
        Assert.Contains("does not exist yet", follower.LastError);

        await PublishAsync("v1", "tiny-qwen3");
        Assert.True(await follower.CheckOnceAsync());
        Assert.False(await follower.CheckOnceAsync()); // unchanged manifest: nothing to do
        Assert.Equal(("v1", (string?)null), (follower.CurrentVersion, follower.LastError));
        var lease = engines.Acquire();
        Assert.Equal(_model, lease.Engine.Model.Name);
        Assert.Equal(Alone("tiny-qwen3", [5, 6, 7], 6), (await lease.Engine.Submit([5, 6, 7], Greedy with { MaxTokens = 6 }).Completion).TokenIds);
        var inFlight = lease.Engine.Submit([1, 2, 3], Greedy with { MaxTokens = 200 });

        await PublishAsync("v2", "tiny-llama");
        Assert.True(await follower.CheckOnceAsync());

        using (var next = engines.Acquire())
            Assert.Equal(Alone("tiny-llama", [5, 6, 7], 6), (await next.Engine.Submit([5, 6, 7], Greedy with { MaxTokens = 6 }).Completion).TokenIds);
        Assert.Equal(Alone("tiny-qwen3", [1, 2, 3], 200), (await inFlight.Completion).TokenIds);
        lease.Dispose();
        Assert.Equal("v2", follower.CurrentVersion);
    }

    [Fact]
    public async Task Versions_that_do_not_match_their_manifest_or_base_are_refused_and_the_current_one_keeps_serving()
    {
        using var engines = new EngineSlot();
        await PublishAsync("v1", "tiny-qwen2", baseSha256: new string('a', 64));
        var follower = new ModelFollower(_store, engines, new ModelFollowerOptions(_model, _cache, ExpectedBaseSha256: new string('a', 64)),
            NullLogger<ModelFollower>.Instance);
        Assert.True(await follower.CheckOnceAsync());

        await PublishAsync("v2", "tiny-qwen2", baseSha256: new string('a', 64), chatTemplate: "{{ messages[0]['content'] }}");
        Assert.False(await follower.CheckOnceAsync());
        Assert.Contains("chat template differs", follower.LastError);

        await PublishAsync("v3", "tiny-qwen2", baseSha256: new string('b', 64));
        Assert.False(await follower.CheckOnceAsync());
        Assert.Contains($"trained on base {new string('b', 64)}", follower.LastError);

        await WriteAsync(BlobLayout.Model.Current(_model), "{\"version\": \"v4\"}");
        Assert.False(await follower.CheckOnceAsync());
        Assert.Contains("mergedPrefix", follower.LastError);

        Assert.Equal("v1", follower.CurrentVersion);
        using var lease = engines.Acquire();
        Assert.Equal(4, (await lease.Engine.Submit([1, 2], Greedy with { MaxTokens = 4 }).Completion).TokenIds.Count);
    }

    private async Task PublishAsync(string version, string fixture, string? baseSha256 = null, string? chatTemplate = null)
    {
        string prefix = BlobLayout.Model.VersionPrefix(_model, version);
        foreach (var file in Directory.GetFiles(RepoPaths.Fixture("models", fixture)).Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)))
        {
            await using var content = File.OpenRead(file);
            await _store.WriteAsync(BlobLayout.Models, prefix + Path.GetFileName(file), content);
        }
        var manifest = new ModelManifest
        {
            Version = version, MergedPrefix = prefix, BaseModel = fixture, BaseSha256 = baseSha256, ChatTemplate = chatTemplate,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await WriteAsync(BlobLayout.Model.Current(_model), manifest.ToCanonicalJson());
    }

    private async Task WriteAsync(string name, string json)
    {
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(json));
        await _store.WriteAsync(BlobLayout.Models, name, content);
    }

    private static IReadOnlyList<int> Alone(string fixture, int[] prompt, int tokens)
    {
        string dir = RepoPaths.Fixture("models", fixture);
        using var model = ModelLoader.Load(dir);
        return new TextGenerator(model, HfTokenizer.Load(dir)).Generate(prompt, Greedy with { MaxTokens = tokens }).TokenIds;
    }
}
