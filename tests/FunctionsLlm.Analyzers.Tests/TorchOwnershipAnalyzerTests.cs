namespace FunctionsLlm.Analyzers.Tests;

/// <summary>
/// The ownership rules on small programs: the patterns that crashed or leaked (issue 23) are reported, the ways of
/// owning a wrapper are not.
/// </summary>
public sealed class TorchOwnershipAnalyzerTests
{
    [Fact]
    public void The_zero_grad_that_crashed_the_pipeline_is_reported_twice()
    {
        // AdamW.ZeroGrad before the fix: the grad wrapper and zero_()'s new wrapper are both left to the finalizer.
        var findings = Snippet.Findings("""
            public static void ZeroGrad(IEnumerable<TorchSharp.Modules.Parameter> parameters)
            {
                foreach (var parameter in parameters)
                {
                    if (parameter.grad is { } grad)
                    {
                        grad.detach_();
                        grad.zero_();
                    }
                }
            }
            """);

        Assert.Equal(["FLM0001 grad.zero_()", "FLM0001 parameter.grad"], findings);
    }

    [Fact]
    public void Temporaries_outside_a_scope_are_reported_even_under_a_using()
    {
        var findings = Snippet.Findings("""
            public static float Largest(Tensor x)
            {
                using var largest = x.abs().max();
                return largest.item<float>();
            }
            """);

        Assert.Equal(["FLM0001 x.abs()"], findings);
    }

    [Fact]
    public void A_lambda_does_not_inherit_the_scope_it_is_written_in()
    {
        var findings = Snippet.Findings("""
            public static double Largest(List<Tensor> tensors)
            {
                using var scope = NewDisposeScope();
                return tensors.Max(t => t.abs().max().item<float>());
            }
            """);

        Assert.Equal(["FLM0001 t.abs()", "FLM0001 t.abs().max()"], findings);
    }

    [Fact]
    public void Implicit_scalars_and_members_that_make_hidden_scalars_are_reported_inside_a_scope_too()
    {
        var findings = Snippet.Findings("""
            public static Tensor Update(Tensor a, Tensor b, double scaling)
            {
                using var scope = NewDisposeScope();
                var sum = a + b;
                sum.mul_(scaling);
                return sum.add(1.0).MoveToOuterDisposeScope();
            }
            """);

        Assert.Equal(["FLM0002 1.0", "FLM0002 scaling", "FLM0003 a + b", "FLM0003 sum.add(1.0)"], findings);
    }

    [Fact]
    public void Generators_and_implicit_tensors_need_an_owner()
    {
        var findings = Snippet.Findings("""
            public static Tensor Random(long n) => rand([n], generator: new Generator(7));

            public static void Mark(Tensor seen, long id) => seen[id] = true;
            """);

        Assert.Equal(["FLM0001 new Generator(7)", "FLM0001 true"], findings);
    }

    [Fact]
    public void A_wrapper_moved_out_of_its_only_scope_or_detached_into_a_local_is_reported()
    {
        var findings = Snippet.Findings("""
            public static float Detached(Tensor x)
            {
                using var scope = NewDisposeScope();
                var copy = x.clone().DetachFromDisposeScope();
                var moved = x.abs().MoveToOuterDisposeScope();
                return copy.sum().item<float>() + moved.sum().item<float>();
            }
            """);

        Assert.Equal(["FLM0001 x.abs()", "FLM0001 x.clone()"], findings);
    }

    [Fact]
    public void Scopes_usings_fields_returns_and_disposal_are_owners()
    {
        var findings = Snippet.Findings("""
            private Tensor? _cache;
            private readonly List<Tensor> _kept = [];

            public Tensor Owned(Tensor a, Tensor b, double value)
            {
                using var scope = NewDisposeScope();
                using var factor = value.ToScalar();
                var product = (a * b).sum();
                product.mul_(factor).add_(b.sum(), One);
                _cache?.Dispose();
                _cache = product.clone().DetachFromDisposeScope();
                using (var inner = NewDisposeScope())
                {
                    var kept = a.abs().MoveToOuterDisposeScope();
                    _kept.Add(kept.clone().DetachFromDisposeScope());
                }
                return product.MoveToOuterDisposeScope();
            }

            public static float Used(Tensor a)
            {
                using var abs = a.abs();
                var mean = abs.mean();
                float result = mean.item<float>();
                mean.Dispose();
                manual_seed(1).Dispose();
                return result;
            }

            public static (Tensor, Tensor) Pair(Tensor a) => (a.abs(), a.neg());
            """);

        Assert.Empty(findings);
    }
}
