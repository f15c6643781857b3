using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>The followers' loop: check, wait the interval, again, until cancelled; a failed check is logged and retried at the next.</summary>
internal static class Polling
{
    public static async Task RunAsync(Func<CancellationToken, Task> check, TimeSpan interval, ILogger logger, string what,
        CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await check(cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogError(e, "{What} failed", what);
            }
            await Task.Delay(interval, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
