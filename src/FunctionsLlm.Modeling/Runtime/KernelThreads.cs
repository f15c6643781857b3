using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Runs the parts of one managed kernel call (a matrix-vector product of a decode step) on the calling thread and parked
/// workers. A worker spins for a few milliseconds after each part (briefly where the caller asks) before it sleeps, so
/// the dozens of products of a step hand off in microseconds; a thread-pool <c>Parallel.For</c> wake-up cost ~50 µs each
/// (bench/README.md), a third of a small product. Between steps the workers sleep, so an idle server burns nothing.
/// </summary>
internal static class KernelThreads
{
    // Long enough to stay hot from one decode step to the next (sampling and the engine's loop run between them): 3 ms
    // measured 79–91 tokens/s F32 against 71–75 with 200 µs, and a shorter tail (bench/README.md).
    public static readonly TimeSpan DecodeSpin = TimeSpan.FromMilliseconds(3);

    /// <summary>
    /// The spin after a call whose caller runs libtorch ops next (a prompt's products): those run on libtorch's own
    /// threads, and a worker spinning beside them for 3 ms took a core from them: a 512-token prefill on managed products
    /// ran at 835-842 tokens/s against 938-951 with this spin (bench/README.md).
    /// </summary>
    public static readonly TimeSpan BriefSpin = TimeSpan.FromMicroseconds(50);

    private static readonly Lock Gate = new();
    private static Worker[] _workers = [];

    /// <summary>Calls <paramref name="body"/>(0 … parts − 1), part 0 on this thread; returns when all are done.</summary>
    public static void Run(int parts, Action<int> body) => Run(parts, body, DecodeSpin);

    /// <summary>As <see cref="Run(int, Action{int})"/>; the workers then spin <paramref name="spinAfter"/> before they sleep.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int parts, Action<int> body, TimeSpan spinAfter)
    {
        if (parts <= 1)
        {
            body(0);
            return;
        }
        lock (Gate)
        {
            if (_workers.Length < parts - 1)
                _workers = [.. _workers, .. Enumerable.Range(_workers.Length, parts - 1 - _workers.Length).Select(i => new Worker(i))];
            var call = new Call(body, parts - 1, spinAfter);
            for (int i = 0; i < parts - 1; i++)
                _workers[i].Post(call, i + 1);
            Exception? error = null;
            try
            {
                body(0);
            }
            catch (Exception e)
            {
                error = e;
            }
            var spinner = new SpinWait();
            while (Volatile.Read(ref call.Remaining) > 0)
                spinner.SpinOnce(sleep1Threshold: -1);
            if ((error ?? call.Error) is { } failure)
                ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    private sealed class Call(Action<int> body, int workers, TimeSpan spinAfter)
    {
        public readonly Action<int> Body = body;
        public readonly TimeSpan SpinAfter = spinAfter;
        public int Remaining = workers;
        public Exception? Error;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private Call? _call;
        private int _part;
        private int _sleeping;

        public Worker(int index) =>
            new Thread(Loop) { IsBackground = true, Name = $"flm-kernel-{index + 1}" }.Start();

        public void Post(Call call, int part)
        {
            _part = part;
            Interlocked.Exchange(ref _call, call);
            if (Interlocked.CompareExchange(ref _sleeping, 0, 0) == 1)
                _wake.Release();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Loop()
        {
            var spin = DecodeSpin;
            while (true)
            {
                var call = WaitForCall(spin);
                spin = call.SpinAfter;
                try
                {
                    call.Body(_part);
                }
                catch (Exception e)
                {
                    call.Error = e;
                }
                Volatile.Write(ref _call, null);
                Interlocked.Decrement(ref call.Remaining);
            }
        }

        // Spins for a while, then sleeps until posted to (a post that races the fall asleep wakes it at once).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private Call WaitForCall(TimeSpan spin)
        {
            long until = Stopwatch.GetTimestamp() + (long)(spin.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                if (Volatile.Read(ref _call) is { } call)
                    return call;
                if (Stopwatch.GetTimestamp() < until)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _call) is null)
                    _wake.Wait();
                Interlocked.Exchange(ref _sleeping, 0);
                until = Stopwatch.GetTimestamp() + (long)(spin.TotalSeconds * Stopwatch.Frequency);
            }
        }
    }
}
