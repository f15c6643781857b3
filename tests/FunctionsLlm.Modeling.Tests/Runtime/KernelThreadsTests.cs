using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Tests.Runtime;

public class KernelThreadsTests
{
    [Fact]
    public async Task Every_part_runs_once_per_call_whether_the_workers_spin_or_sleep()
    {
        for (int call = 0; call < 200; call++)
        {
            var runs = new int[4];
            KernelThreads.Run(4, part => Interlocked.Increment(ref runs[part]));
            Assert.All(runs, count => Assert.Equal(1, count));
            if (call % 50 == 0)
                await Task.Delay(20);   // long enough for the workers to fall asleep
        }
    }

    [Fact]
    public void A_failing_part_fails_the_call_and_the_next_call_runs()
    {
        var error = Assert.Throws<InvalidOperationException>(() => KernelThreads.Run(3, part =>
        {
            if (part == 2)
                throw new InvalidOperationException("part 2 failed");
        }));
        Assert.Equal("part 2 failed", error.Message);

        int sum = 0;
        KernelThreads.Run(3, part => Interlocked.Add(ref sum, part + 1));
        Assert.Equal(6, sum);
    }

    [Fact]
    public async Task Calls_from_several_threads_are_served_one_after_another()
    {
        long total = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 100; i++)
                KernelThreads.Run(2, part => Interlocked.Add(ref total, part + 1));
        })));
        Assert.Equal(4 * 100 * 3, total);
    }
}
