using System.Reflection;
using System.Text.Json;
using System.Text;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Core;
using FunctionsLlm.Orchestration.Tests;
using FunctionsLlm.Orchestration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;

namespace FunctionsLlm.Pipeline.Tests;

/// <summary>The Functions app's triggers, called as the host would (a DefaultHttpContext), and the metadata the build generates.</summary>
public sealed class PipelineFunctionsTests
{
    private static string Samples => Path.Combine(RepoPaths.Samples, "customer-service.jsonl");

    [Fact]
    public async Task Post_runs_starts_once_get_reports_the_summary_and_delete_cancels_the_trainer_jobs()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Trainer.Script = (_, _) => JobScript.Never;
        await h.UploadAsync("faq.jsonl", Samples);
        var functions = new PipelineFunctions(h.Activities, h.Store, new PipelineSettings
        {
            TrainerUrl = h.Trainer.Url,
            TrainerApiKey = FakeTrainer.ApiKey,
            ModelName = PipelineHarness.ModelName,
            Storage = new StorageSettings(Folder: h.Root),
            Timing = h.Timing,
        }, NullLogger<PipelineFunctions>.Instance);

        var first = (ObjectResult)await functions.StartRun(JsonRequests.Post("""{"name": "faq.jsonl"}"""), h.Client, CancellationToken.None);
        var again = (ObjectResult)await functions.StartRun(JsonRequests.Post("""{"name": "faq.jsonl"}"""), h.Client, CancellationToken.None);
        var missing = (ObjectResult)await functions.StartRun(JsonRequests.Post("""{"name": "nope.jsonl"}"""), h.Client, CancellationToken.None);

        Assert.Equal(StatusCodes.Status202Accepted, first.StatusCode);
        Assert.Equal(StatusCodes.Status200OK, again.StatusCode);
        Assert.Equal(StatusCodes.Status404NotFound, missing.StatusCode);
        var runId = Json(first).GetProperty("runId").GetString()!;
        Assert.Equal(runId, Json(again).GetProperty("runId").GetString());

        // wait until the candidate job runs on the trainer
        var job = RunIds.Candidate(runId, 0);
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (!h.Trainer.JobIds.Contains(job))
                await Task.Delay(50, wait.Token);
        }
        var status = Json((ObjectResult)await functions.GetRun(new DefaultHttpContext().Request, runId, h.Client, CancellationToken.None));
        Assert.Equal("Running", status.GetProperty("status").GetString());
        Assert.Equal("succeeded", status.GetProperty("summary").GetProperty("stages").GetProperty("clean").GetProperty("state").GetString());

        var cancel = Json((ObjectResult)await functions.CancelRun(new DefaultHttpContext().Request, runId, h.Client, CancellationToken.None));
        Assert.True(cancel.GetProperty("terminated").GetBoolean());
        Assert.Contains(job, h.Trainer.Cancelled);
        var ended = await h.WaitAsync(runId);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, ended.RuntimeStatus);

        var unknown = (ObjectResult)await functions.GetRun(new DefaultHttpContext().Request, "run-0000000000000000", h.Client, CancellationToken.None);
        Assert.Equal(StatusCodes.Status404NotFound, unknown.StatusCode);
    }

    [Fact]
    public void The_generated_metadata_lists_the_functions_and_their_bindings()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")));
        var functions = metadata.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().ToList());

        Assert.Equal(
            ["CancelJob", "CancelRun", "Clean", "Format", "GetJob", "GetRun", "LoadOptions", "PipelineOrchestrator", "Publish",
             "PublishAdapter", "StartRun", "SubmitJob", "TrainerJobMonitor", "TrainingDataUploaded", "WriteSummary"],
            functions.Keys.Order(StringComparer.Ordinal));
        var trigger = functions["TrainingDataUploaded"][0];
        Assert.Equal("blobTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("training-data/{name}", trigger.GetProperty("path").GetString());
        Assert.Equal("EventGrid", trigger.GetProperty("source").GetString());
        Assert.Contains(functions["TrainingDataUploaded"], b => b.GetProperty("type").GetString() == "durableClient");
        // Every HTTP function the build generates needs a function key (none is anonymous), whatever its name.
        var httpTriggers = functions.Values.SelectMany(b => b).Where(b => b.GetProperty("type").GetString() == "httpTrigger").ToList();
        Assert.Equal(3, httpTriggers.Count);
        Assert.All(httpTriggers, t => Assert.Equal("Function", t.GetProperty("authLevel").GetString()));
        foreach (var (name, method, route) in new[] { ("StartRun", "post", "api/runs"), ("GetRun", "get", "api/runs/{id}"), ("CancelRun", "delete", "api/runs/{id}") })
        {
            var http = functions[name][0];
            Assert.Equal("httpTrigger", http.GetProperty("type").GetString());
            Assert.Equal(route, http.GetProperty("route").GetString());
            Assert.Equal([method], http.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        }
        Assert.Equal("orchestrationTrigger", functions[PipelineOrchestrator.Name][0].GetProperty("type").GetString());
        Assert.Equal("orchestrationTrigger", functions[PipelineOrchestrator.MonitorName][0].GetProperty("type").GetString());
        foreach (var activity in new[] { "LoadOptions", "Clean", "Format", "SubmitJob", "GetJob", "CancelJob", "Publish", "WriteSummary" })
            Assert.Equal("activityTrigger", functions[activity][0].GetProperty("type").GetString());
    }

    /// <summary>
    /// PipelineActivities declares the activities once; the Functions app's triggers (PipelineFunctions) and the
    /// in-process registration (PipelineTasks.AddPipeline, used by flm pipeline and the tests) must both cover each one,
    /// by name and by input and output type, and have nothing else.
    /// </summary>
    [Fact]
    public void Every_activity_is_a_function_and_registered_in_process_with_the_same_types()
    {
        var declared = typeof(PipelineActivities).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .ToDictionary(m => m.Name, m => (Input: m.GetParameters()[0].ParameterType, Output: m.ReturnType));
        var triggers = typeof(PipelineFunctions).GetMethods()
            .Select(m => (Method: m, Trigger: m.GetParameters().FirstOrDefault(p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null)))
            .Where(t => t.Trigger is not null)
            .ToDictionary(t => t.Method.GetCustomAttribute<FunctionAttribute>()!.Name, t => (Input: t.Trigger!.ParameterType, Output: t.Method.ReturnType));
        Assert.Equal(declared.Keys.Order(StringComparer.Ordinal), triggers.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, types) in declared)
            Assert.True(types == triggers[name], $"{name}: the activity takes {types.Input.Name} → {types.Output}, its Functions trigger {triggers[name].Input.Name} → {triggers[name].Output}");

        // Registering a name twice throws: each activity and both orchestrators are already in AddPipeline's registry.
        var tasks = new DurableTaskRegistry().AddPipeline(new PipelineActivities(new LocalFolderStore(Path.GetTempPath()), new TrainerClient(new HttpClient()),
            new RunDefaults("base/", "m")));
        foreach (string name in declared.Keys)
            Assert.ThrowsAny<ArgumentException>(() => tasks.AddActivityFunc<object, object>(name, (_, input) => input!));
        foreach (string name in new[] { PipelineOrchestrator.Name, PipelineOrchestrator.MonitorName })
            Assert.ThrowsAny<ArgumentException>(() => tasks.AddOrchestratorFunc<object, object>(name, (_, input) => input!));
        Assert.Null(Record.Exception(() => tasks.AddActivityFunc<object, object>("NotAnActivity", (_, input) => input!)));
    }

    [Fact]
    public void The_pipeline_app_is_torch_free()
    {
        var referenced = typeof(PipelineFunctions).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain(referenced, n => n is "TorchSharp" or "FunctionsLlm.Modeling" or "FunctionsLlm.Training" or "FunctionsLlm.Serving");
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
    }


    private static JsonElement Json(ObjectResult result) =>
        JsonSerializer.SerializeToElement(result.Value, JsonDefaults.Compact);
}
