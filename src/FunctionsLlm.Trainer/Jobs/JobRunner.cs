using FunctionsLlm.Core.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// Runs queued jobs in order, <see cref="TrainerSettings.MaxConcurrentJobs"/> at a time. At start it re-queues the
/// unfinished jobs of the store (<see cref="JobRegistry.RecoverAsync"/>). On shutdown a running train job stops at
/// the next step after writing a checkpoint, and stays <c>running</c> in the store, so the next start resumes it.
/// Every other way a job ends is written as succeeded, failed (with the reason) or cancelled.
/// </summary>
public sealed class JobRunner(JobRegistry registry, JobExecutor executor, TrainerSettings settings, ILogger<JobRunner> logger) : BackgroundService
{
    private volatile bool _recovered;

    /// <summary>Unfinished jobs from the store are queued again (readiness waits for this).</summary>
    public bool Recovered => _recovered;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!_recovered)
        {
            try
            {
                int count = await registry.RecoverAsync(stoppingToken);
                _recovered = true;
                if (count > 0)
                    logger.LogInformation("{Count} unfinished job(s) queued again", count);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "cannot read unfinished jobs from the store; retrying in 10 s");
                await Task.Delay(TimeSpan.FromSeconds(10), stoppingToken);
            }
        }
        try
        {
            await Task.WhenAll(Enumerable.Range(0, settings.MaxConcurrentJobs).Select(_ => WorkAsync(stoppingToken)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        await foreach (string id in registry.Queue.ReadAllAsync(stoppingToken))
        {
            try
            {
                await RunOneAsync(id, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The store failed around the job (reading it, or marking it running): the runner goes on with the next one;
                // a job left queued or running in the store runs again at the next start.
                logger.LogError(e, "job {Id} could not be run", id);
            }
        }
    }

    private async Task RunOneAsync(string id, CancellationToken stoppingToken)
    {
        var job = await registry.GetAsync(id, stoppingToken);
        if (job is null || job.Status.State != JobState.Queued || job.CancelRequested)
            return;
        await registry.UpdateAsync(job, s => s with { State = JobState.Running }, stoppingToken);
        logger.LogInformation("job {Id} ({Kind}) started", id, job.Spec.Kind);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, stoppingToken);
        try
        {
            var result = await executor.RunAsync(job, linked.Token);
            await SettleAsync(job, s => s with { State = JobState.Succeeded, Result = result });
            logger.LogInformation("job {Id} succeeded", id);
        }
        catch (OperationCanceledException) when (job.CancelRequested)
        {
            string at = job.Status.Progress is { } p ? $" at step {p.Step}" : "";
            await SettleAsync(job, s => s with { State = JobState.Cancelled, Error = $"cancelled by DELETE{at}" });
            logger.LogInformation("job {Id} cancelled{At}", id, at);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the job stays running in the store with its checkpoint; the next start resumes it.
            logger.LogWarning("job {Id} interrupted by shutdown; it resumes when the trainer starts again", id);
        }
        catch (Exception e)
        {
            var (code, message) = JobFailure.Describe(e);
            logger.LogError(e, "job {Id} failed ({Code}): {Message}", id, code, message);
            await SettleAsync(job, s => s with { State = JobState.Failed, Error = message, ErrorCode = code });
        }
    }

    // The final state is written even while shutting down, with a few tries, so no job is left running by mistake.
    private async Task SettleAsync(JobEntry job, Func<JobStatus, JobStatus> change)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await registry.UpdateAsync(job, change, CancellationToken.None);
                return;
            }
            catch (Exception e) when (attempt < 3)
            {
                logger.LogWarning(e, "job {Id}: writing its final state failed (attempt {Attempt}); retrying", job.Id, attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
            catch (Exception e)
            {
                logger.LogError(e, "job {Id}: its final state could not be written; a restart will run it again", job.Id);
                return;
            }
        }
    }
}
