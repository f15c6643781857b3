using FunctionsLlm.Core.Storage;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// Keeps a running job's lease: renews it every <see cref="TrainerSettings.LeaseTick"/> and reads the job's cancel
/// request then. When the lease is lost, or cannot be renewed before it would lapse, the job is marked
/// <see cref="JobEntry.LeaseLost"/> and <paramref name="stop"/> is cancelled: another replica may take the job over, so
/// this one stops it without writing anything more.
/// </summary>
internal sealed class JobLeaseKeeper(JobEntry job, JobRegistry registry, TrainerSettings settings, TimeProvider time,
    CancellationTokenSource stop, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _done = new();
    private Task _loop = Task.CompletedTask;

    public static JobLeaseKeeper Start(JobEntry job, JobRegistry registry, TrainerSettings settings, TimeProvider time,
        CancellationTokenSource stop, ILogger logger)
    {
        var keeper = new JobLeaseKeeper(job, registry, settings, time, stop, logger);
        keeper._loop = Task.Run(keeper.LoopAsync);
        return keeper;
    }

    private async Task LoopAsync()
    {
        var renewed = time.GetUtcNow();
        while (true)
        {
            try
            {
                await Task.Delay(settings.LeaseTick, time, _done.Token);
                await job.Lease!.RenewAsync(_done.Token);
                renewed = time.GetUtcNow();
                if (await registry.CancelRequestedAsync(job.Id, _done.Token))
                    job.RequestCancel();
            }
            catch (OperationCanceledException) when (_done.IsCancellationRequested)
            {
                return;
            }
            catch (ArtifactLeaseLostException e)
            {
                Lose(e.Message);
                return;
            }
            catch (Exception e)
            {
                // The lease lapses one duration after its last renewal: stop before the next try would come too late.
                if (time.GetUtcNow() - renewed + settings.LeaseTick >= settings.JobLease)
                {
                    Lose($"not renewed since {renewed:O}: {e.Message}");
                    return;
                }
                logger.LogWarning(e, "job {Id}: renewing its lease failed; retrying in {Tick}", job.Id, settings.LeaseTick);
            }
        }
    }

    private void Lose(string reason)
    {
        job.LeaseLost = true;
        logger.LogError("job {Id}: its lease is lost ({Reason}); stopping it here, another replica takes it over", job.Id, reason);
        stop.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        _done.Cancel();
        await _loop;
        _done.Dispose();
    }
}
