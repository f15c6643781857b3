using FunctionsLlm.Core.Contracts;
using Microsoft.DurableTask;

namespace FunctionsLlm.Orchestration;

/// <summary>
/// Registers the orchestrators and activities under the names the Functions app gives them, for hosts other than
/// Functions: <c>flm pipeline</c> (the in-process Durable Task engine) and the tests.
/// </summary>
public static class PipelineTasks
{
    public static DurableTaskRegistry AddPipeline(this DurableTaskRegistry tasks, PipelineActivities activities)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(activities);
        tasks.AddOrchestratorFunc<RunInput, RunResult>(PipelineOrchestrator.Name, (context, input) => PipelineOrchestrator.RunAsync(context, input!));
        tasks.AddOrchestratorFunc<MonitorInput, JobOutcome>(PipelineOrchestrator.MonitorName, (context, input) => PipelineOrchestrator.MonitorJobAsync(context, input!));
        tasks.AddActivityFunc<RunSource, RunOptionsResult>(nameof(PipelineActivities.LoadOptions), (_, input) => activities.LoadOptions(input!));
        tasks.AddActivityFunc<CleanInput, CleanResult>(nameof(PipelineActivities.Clean), (_, input) => activities.Clean(input!));
        tasks.AddActivityFunc<FormatInput, FormatResult>(nameof(PipelineActivities.Format), (_, input) => activities.Format(input!));
        tasks.AddActivityFunc<SubmitJobInput, JobSnapshot>(nameof(PipelineActivities.SubmitJob), (_, input) => activities.SubmitJob(input!));
        tasks.AddActivityFunc<string, JobSnapshot>(nameof(PipelineActivities.GetJob), (_, input) => activities.GetJob(input!));
        tasks.AddActivityFunc<string, bool>(nameof(PipelineActivities.CancelJob), (_, input) => activities.CancelJob(input!));
        tasks.AddActivityFunc<PublishInput, string>(nameof(PipelineActivities.Publish), (_, input) => activities.Publish(input!));
        tasks.AddActivityFunc<PublishAdapterInput, string>(nameof(PipelineActivities.PublishAdapter), (_, input) => activities.PublishAdapter(input!));
        tasks.AddActivityFunc<SummaryInput, bool>(nameof(PipelineActivities.WriteSummary), (_, input) => activities.WriteSummary(input!));
        return tasks;
    }
}
