using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Moq;

namespace FunctionsLlm.Pipeline.Tests;

/// <summary>
/// The two doors that start a run, <c>TrainingDataUploaded</c> (Event Grid) and <c>POST /api/runs</c>, against a scripted
/// <see cref="DurableTaskClient"/>: what they schedule, and that names from outside are refused before anything is.
/// </summary>
public sealed class RunStartTests : IDisposable
{
    private readonly TempFolder _root = new("flm-run-start-");
    private readonly LocalFolderStore _store;
    private readonly Mock<ILogger<PipelineFunctions>> _logger = new();
    private readonly PipelineFunctions _functions;

    public RunStartTests()
    {
        _store = new LocalFolderStore(_root);
        _functions = new PipelineFunctions(new PipelineActivities(_store, new TrainerClient(new HttpClient()), new RunDefaults("base/", "m")), _store,
            new PipelineSettings { TrainerUrl = new Uri("http://127.0.0.1:9/"), ModelName = "m", Storage = new StorageSettings(Folder: _root) }, _logger.Object);
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Two_deliveries_of_one_upload_racing_schedule_exactly_one_run()
    {
        await _store.WriteTextAsync(BlobLayout.TrainingData, "faq.jsonl", """{"instruction": "q", "output": "a"}""");
        string etag = (await _store.GetInfoAsync(BlobLayout.TrainingData, "faq.jsonl"))!.ETag;
        string? scheduled = null;
        int looks = 0;
        var bothLooked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new Mock<DurableTaskClient>("test") { CallBase = true };
        client.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
            .Returns(async (string id, bool _, CancellationToken _) =>
            {
                if (Volatile.Read(ref scheduled) is not null)
                    return new OrchestrationMetadata(PipelineOrchestrator.Name, id);
                if (Interlocked.Increment(ref looks) == 2)
                    bothLooked.SetResult();
                await bothLooked.Task;   // both deliveries have seen no instance: each will try to schedule one
                return null;
            });
        // What the backend does: the first schedule of an instance id wins, a second one fails.
        client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .Returns((TaskName _, object? _, StartOrchestrationOptions? options, CancellationToken _) =>
                Interlocked.CompareExchange(ref scheduled, options!.InstanceId, null) is null
                    ? Task.FromResult(options.InstanceId!)
                    : Task.FromException<string>(new InvalidOperationException($"an orchestration with instance ID '{options.InstanceId}' already exists")));

        await Task.WhenAll(
            _functions.TrainingDataUploaded(Stream.Null, "faq.jsonl", client.Object, CancellationToken.None),
            _functions.TrainingDataUploaded(Stream.Null, "faq.jsonl", client.Object, CancellationToken.None));

        Assert.Equal(RunIds.For("faq.jsonl", etag), scheduled);
        client.Verify(c => c.ScheduleNewOrchestrationInstanceAsync(new TaskName(PipelineOrchestrator.Name),
            It.Is<object?>(input => input is RunInput && ((RunInput)input).RunId == scheduled), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
        VerifyLogged(LogLevel.Information, $"run {scheduled} started", Times.Once());
        VerifyLogged(LogLevel.Information, $"run {scheduled} already exists", Times.Once());
    }

    [Fact]
    public async Task A_sidecar_or_a_vanished_upload_starts_nothing()
    {
        var client = new Mock<DurableTaskClient>(MockBehavior.Strict, "test");

        await _functions.TrainingDataUploaded(Stream.Null, BlobLayout.PipelineOptions("faq.jsonl"), client.Object, CancellationToken.None);
        await _functions.TrainingDataUploaded(Stream.Null, "gone.jsonl", client.Object, CancellationToken.None);

        VerifyLogged(LogLevel.Information, "is a run options sidecar", Times.Once());
        VerifyLogged(LogLevel.Warning, "gone.jsonl is gone; no run started", Times.Once());
    }

    [Theory]
    [InlineData("../x.jsonl")]
    [InlineData("a/../../x.jsonl")]
    [InlineData("/etc/x.jsonl")]
    [InlineData("a\\x.jsonl")]
    [InlineData("a%2Fx.jsonl")]
    [InlineData("%2e%2e/x.jsonl")]
    [InlineData("a\0x.jsonl")]
    [InlineData("faq.jsonl\n")]
    [InlineData("faq\r\n.jsonl")]
    public async Task Post_runs_refuses_a_name_that_is_not_a_plain_blob_name_before_starting_anything(string name)
    {
        await _store.WriteTextAsync(BlobLayout.TrainingData, "faq.jsonl", """{"instruction": "q", "output": "a"}""");
        var client = new Mock<DurableTaskClient>(MockBehavior.Strict, "test");   // any call would throw

        var result = (ObjectResult)await _functions.StartRun(JsonRequests.Post(JsonSerializer.Serialize(new { name })), client.Object, CancellationToken.None);

        Assert.Equal(StatusCodes.Status400BadRequest, result.StatusCode);
        string message = JsonSerializer.SerializeToElement(result.Value).GetProperty("error").GetProperty("message").GetString()!;
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\0', message);
    }

    /// <summary>
    /// Thousands of seeded mutations of a valid <c>POST /api/runs</c> body (<see cref="JsonFuzz"/>): the function answers
    /// each with 200/202 (the one valid name), 400 or 404 and the error shape, and never throws (the host's 500).
    /// </summary>
    [Fact]
    public async Task Mutated_start_requests_get_a_4xx_with_the_error_shape_or_start_the_one_run()
    {
        await _store.WriteTextAsync(BlobLayout.TrainingData, "faq.jsonl", """{"instruction": "q", "output": "a"}""");
        var client = new Mock<DurableTaskClient>("test") { CallBase = true };
        client.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>())).ReturnsAsync((OrchestrationMetadata?)null);
        client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((TaskName _, object? _, StartOrchestrationOptions? options, CancellationToken _) => options!.InstanceId!);
        var fuzz = new JsonFuzz(2026, """{"name": "faq.jsonl"}""", """{"name": "folder/faq.jsonl", "extra": [1, {"a": null}]}""");
        var statuses = new SortedDictionary<int, int>();
        for (int i = 0; i < 3000; i++)
        {
            var (mutation, body) = fuzz.Next();
            string what = $"#{i} ({mutation}): {Encoding.UTF8.GetString(body)}";
            ObjectResult result;
            try
            {
                result = (ObjectResult)await _functions.StartRun(JsonRequests.Post(body), client.Object, CancellationToken.None);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{e.GetType().Name} (the host's 500) on {what}: {e.Message}");
            }
            int status = result.StatusCode ?? 200;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status is 200 or 202 or 400 or 404, $"{status} on {what}");
            if (status >= 400)
                Assert.False(string.IsNullOrWhiteSpace(JsonSerializer.SerializeToElement(result.Value).GetProperty("error").GetProperty("message").GetString()), what);
        }

        Assert.True(statuses.Keys.Any(s => s < 300) && statuses.Keys.Any(s => s >= 400), string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
    }

    private void VerifyLogged(LogLevel level, string text, Times times) =>
        _logger.Verify(l => l.Log(level, It.IsAny<EventId>(), It.Is<It.IsAnyType>((state, _) => string.Concat(state).Contains(text, StringComparison.Ordinal)),
            It.IsAny<Exception?>(), It.IsAny<Func<It.IsAnyType, Exception?, string>>()), times);

}
