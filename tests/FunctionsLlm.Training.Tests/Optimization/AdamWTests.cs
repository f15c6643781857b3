using FunctionsLlm.Training.Optimization;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Tests.Optimization;

public sealed class AdamWTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-adamw-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Steps_match_libtorchs_adamw()
    {
        var generator = new Generator(3);
        using var start = randn([5, 7], generator: generator);
        using var ours = new TorchSharp.Modules.Parameter(start.clone());
        using var theirs = new TorchSharp.Modules.Parameter(start.clone());
        using var optimizer = new AdamW([("w", ours)], 0.9, 0.95, 1e-8, weightDecay: 0.1);
        using var reference = optim.AdamW([theirs], lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1);

        for (int step = 0; step < 25; step++)
        {
            using var grad = randn([5, 7], generator: generator);
            optimizer.ZeroGrad();
            reference.zero_grad();
            (ours * grad).sum().backward();
            (theirs * grad).sum().backward();
            optimizer.Step(1e-2);
            reference.step();
        }
        TensorAssert.Close(theirs, ours, 1e-6, "ours against libtorch's AdamW");
    }

    [Fact]
    public void Saved_state_continues_bit_for_bit()
    {
        var generator = new Generator(4);
        using var start = randn([3, 3], generator: generator);
        var grads = Enumerable.Range(0, 6).Select(_ => randn([3, 3], generator: generator)).ToList();
        using var straight = new TorchSharp.Modules.Parameter(start.clone());
        using var resumed = new TorchSharp.Modules.Parameter(start.clone());
        using var first = new AdamW([("w", straight)], 0.9, 0.999, 1e-8, 0);
        Run(first, straight, grads);

        using (var before = new AdamW([("w", resumed)], 0.9, 0.999, 1e-8, 0))
        {
            Run(before, resumed, grads.Take(3));
            before.Save(Path.Combine(_dir, "optimizer.safetensors"));
        }
        using var after = new AdamW([("w", resumed)], 0.9, 0.999, 1e-8, 0);
        after.Load(Path.Combine(_dir, "optimizer.safetensors"));
        Assert.Equal(3, after.Steps);
        Run(after, resumed, grads.Skip(3));

        Assert.True(straight.eq(resumed).all().item<bool>());
        grads.ForEach(g => g.Dispose());
    }

    private static void Run(AdamW optimizer, TorchSharp.Modules.Parameter parameter, IEnumerable<Tensor> grads)
    {
        foreach (var grad in grads)
        {
            optimizer.ZeroGrad();
            (parameter * grad).sum().backward();
            optimizer.Step(1e-3);
        }
    }
}
