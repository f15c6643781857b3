namespace FunctionsLlm.Core.Storage;

/// <summary>
/// An exclusive lease on one artifact (<see cref="IArtifactStore.TryLeaseAsync"/>): while it is held no one else can
/// lease the artifact. Disposing releases it; a holder that dies without releasing loses it when it expires (Blob
/// Storage) or at once (a local folder's file lock goes with its process).
/// </summary>
public interface IArtifactLease : IAsyncDisposable
{
    /// <summary>Extends the lease by its duration. Throws <see cref="ArtifactLeaseLostException"/> when it was lost (it expired and another took it, or it was broken).</summary>
    Task RenewAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the leased artifact, which ends the lease (only the holder may delete a leased artifact).</summary>
    Task DeleteAsync(CancellationToken cancellationToken = default);
}

/// <summary>The lease durations every store accepts: Blob Storage's range.</summary>
public static class ArtifactLease
{
    public static readonly TimeSpan MinDuration = TimeSpan.FromSeconds(15);

    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);

    public static void CheckDuration(TimeSpan duration)
    {
        if (duration < MinDuration || duration > MaxDuration)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"a lease lasts {MinDuration.TotalSeconds:0} to {MaxDuration.TotalSeconds:0} s");
    }
}
