using FunctionsLlm.Core.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// Runs jobs, <see cref="TrainerSettings.MaxConcurrentJobs"/> at a time: each worker claims the oldest unfinished job
/// no replica holds (<see cref="JobRegistry.ClaimNextAsync"/>), keeps its lease while it runs, and looks again when a
/// job is queued here or every <see cref="TrainerSettings.LeaseTick"/>. On shutdown a running train job stops at the
/// next step after writing a checkpoint, stays <c>running</c> in the store and its lease is released, so the next
/// replica or start resumes it at once. Every other way a job ends is written as succeeded, failed (with the reason)
/// or cancelled, except when the lease was lost: then the replica that took the job over writes it.
/// </summary>
public sealed class JobRunner(JobRegistry registry, JobExecutor executor, TrainerSettings settings, TimeProvider time, ILogger<JobRunner> logger)
    : BackgroundService
{
    private volatile bool _recovered;

    /// <summary>The store has been read for unfinished jobs (readiness waits for this).</summary>
    public bool Recovered => _recovered;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!_recovered)
        {
            try
            {
                int count = await registry.CountUnfinishedAsync(stoppingToken);
                _recovered = true;
                if (count > 0)
                    logger.LogInformation("{Count} unfinished job(s) in the store", count);
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
        while (!stoppingToken.IsCancellationRequested)
        {
            JobEntry? job = null;
            try
            {
                job = await registry.ClaimNextAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "cannot look for jobs in the store; retrying in {Tick}", settings.LeaseTick);
            }
            if (job is null)
            {
                await registry.WaitForWorkAsync(settings.LeaseTick, stoppingToken);
                continue;
            }
            try
            {
                await RunOneAsync(job, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The store failed around the job (marking it running): the job stays unfinished in the store, and its
                // lease, released below, lets the next claim run it again.
                logger.LogError(e, "job {Id} could not be run", job.Id);
            }
            finally
            {
                await registry.ReleaseAsync(job);
            }
        }
    }

    private async Task RunOneAsync(JobEntry job, CancellationToken stoppingToken)
    {
        string id = job.Id;
        if (await registry.CancelRequestedAsync(id, stoppingToken))
        {
            await SettleAsync(job, s => s with { State = JobState.Cancelled, Error = JobRegistry.CancelledByDelete(s) });
            logger.LogInformation("job {Id} cancelled before it ran here", id);
            return;
        }
        bool takenOver = job.Status.State == JobState.Running;
        await registry.UpdateAsync(job, s => s with { State = JobState.Running }, stoppingToken);
        if (takenOver)
            logger.LogInformation("job {Id} ({Kind}) taken over at step {Step}: its last runner stopped or died", id, job.Spec.Kind, job.Status.Progress?.Step ?? 0);
        else
            logger.LogInformation("job {Id} ({Kind}) started", id, job.Spec.Kind);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, stoppingToken);
        await using var keeper = JobLeaseKeeper.Start(job, registry, settings, time, linked, logger);
        try
        {
            var result = await executor.RunAsync(job, linked.Token);
            await SettleAsync(job, s => s with { State = JobState.Succeeded, Result = result });
            logger.LogInformation("job {Id} succeeded", id);
        }
        catch (Exception) when (job.LeaseLost)
        {
            logger.LogWarning("job {Id} stopped here without writing its state: its lease was lost", id);
        }
        catch (OperationCanceledException) when (job.CancelRequested)
        {
            await SettleAsync(job, s => s with { State = JobState.Cancelled, Error = JobRegistry.CancelledByDelete(s) });
            logger.LogInformation("job {Id} {Reason}", id, job.Status.Error);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the job stays running in the store with its checkpoint; releasing its lease lets the next runner resume it.
            logger.LogWarning("job {Id} interrupted by shutdown; it resumes on the next runner", id);
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
        for (int attempt = 1; !job.LeaseLost; attempt++)
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
                logger.LogError(e, "job {Id}: its final state could not be written; the next claim runs it again", job.Id);
                return;
            }
        }
    }
}
