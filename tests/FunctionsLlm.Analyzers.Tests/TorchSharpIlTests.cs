using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Mono.Cecil;
using Mono.Cecil.Cil;
using static TorchSharp.torch;

namespace FunctionsLlm.Analyzers.Tests;

/// <summary>
/// What the analyzer assumes about TorchSharp, checked against the IL of the TorchSharp.dll the project uses, so that an
/// upgrade which changes it fails here instead of leaving a blind spot.
/// </summary>
public sealed class TorchSharpIlTests
{
    private static readonly ModuleDefinition TorchSharpModule = ModuleDefinition.ReadModule(typeof(Tensor).Assembly.Location);

    [Fact]
    public void The_hidden_scalar_list_is_what_TorchSharp_IL_says()
    {
        var expected = HiddenScalarMembers();
        var listed = TorchSharpApi.HiddenScalarMembers;

        var missing = expected.Except(listed).Order(StringComparer.Ordinal).ToList();
        var stale = listed.Except(expected).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || stale.Count > 0)
        {
            string path = Path.Combine(Path.GetTempPath(), "HiddenScalarMembers.txt");
            File.WriteAllLines(path, expected.Order(StringComparer.Ordinal));
            Assert.Fail($"build/Analyzers/HiddenScalarMembers.txt is out of date ({missing.Count} missing, e.g. " +
                $"{string.Join("; ", missing.Take(5))}; {stale.Count} stale, e.g. {string.Join("; ", stale.Take(5))}). " +
                $"The list for this TorchSharp is in {path}.");
        }
    }

    [Fact]
    public void The_list_covers_the_members_this_project_was_bitten_by()
    {
        // a + b adds with a hidden alpha of 1; t * 2.0 converts inside the operator; square() is pow(2).
        Assert.Contains("TorchSharp.torch/Tensor::op_Addition(TorchSharp.torch/Tensor,TorchSharp.torch/Tensor)", TorchSharpApi.HiddenScalarMembers);
        Assert.Contains("TorchSharp.torch/Tensor::op_Multiply(TorchSharp.torch/Tensor,System.Double)", TorchSharpApi.HiddenScalarMembers);
        Assert.Contains("TorchSharp.torch/Tensor::square()", TorchSharpApi.HiddenScalarMembers);
        Assert.DoesNotContain("TorchSharp.torch/Tensor::add(TorchSharp.torch/Tensor,TorchSharp.Scalar)", TorchSharpApi.HiddenScalarMembers);
    }

    [Fact]
    public void Every_listed_member_has_the_signature_the_analyzer_computes_for_it()
    {
        var compilation = CSharpCompilation.Create("Probe", references: [MetadataReference.CreateFromFile(typeof(Tensor).Assembly.Location),
            .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p))]);
        var torchSharp = compilation.References.Select(compilation.GetAssemblyOrModuleSymbol).OfType<IAssemblySymbol>().Single(a => a.Name == "TorchSharp");
        var signatures = Types(torchSharp.GlobalNamespace).SelectMany(t => t.GetMembers().OfType<IMethodSymbol>())
            .Select(TorchSharpApi.Signature).ToHashSet(StringComparer.Ordinal);

        var unmatched = TorchSharpApi.HiddenScalarMembers.Where(m => !signatures.Contains(m)).ToList();

        Assert.True(unmatched.Count == 0, $"no symbol has the signature of: {string.Join("; ", unmatched.Take(10))}");
    }

    [Fact]
    public void Methods_the_analyzer_treats_as_returning_their_receiver_do_so_in_every_overload()
    {
        var tensor = TorchSharpModule.GetType("TorchSharp.torch/Tensor");
        var returnsTensor = tensor.Methods.Where(m => m.IsPublic && !m.IsStatic && m.HasBody && m.ReturnType.FullName == tensor.FullName).ToList();
        var receiverReturning = ReceiverReturning(tensor);

        var wrong = returnsTensor
            .Where(m => (TorchSharpApi.IsInPlaceName(m.Name) || TorchSharpApi.OwnershipMoves.Contains(m.Name)) && !receiverReturning.Contains(m))
            .Select(m => m.FullName).ToList();
        var needless = TorchSharpApi.InPlaceReturningNewWrapper
            .Where(name => returnsTensor.Where(m => m.Name == name).All(receiverReturning.Contains)).ToList();

        Assert.True(wrong.Count == 0, "these return a new wrapper: add their names to InPlaceReturningNewWrapper: " + string.Join("; ", wrong));
        Assert.True(needless.Count == 0, "these return their receiver in every overload: " + string.Join("; ", needless));
    }

    /// <summary>
    /// Public members that make a Scalar (implicit conversion, ToScalar, or the constructor) or call a member of
    /// TorchSharp that does, in Mono.Cecil's signature form without the return type.
    /// </summary>
    private static HashSet<string> HiddenScalarMembers()
    {
        var makers = new HashSet<MethodDefinition>();
        var callers = new Dictionary<MethodDefinition, List<MethodDefinition>>();
        foreach (var method in TorchSharpModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody))
        {
            if (method.DeclaringType.FullName is "TorchSharp.Scalar" or "TorchSharp.ScalarExtensionMethods")
                continue;
            foreach (var instruction in method.Body.Instructions)
            {
                if (instruction.Operand is not MethodReference called)
                    continue;
                if (MakesScalar(called))
                    makers.Add(method);
                if (Resolve(called) is { } target)
                {
                    if (!callers.TryGetValue(target, out var list))
                        callers[target] = list = [];
                    list.Add(method);
                }
            }
        }
        var all = new HashSet<MethodDefinition>(makers);
        var pending = new Queue<MethodDefinition>(makers);
        while (pending.TryDequeue(out var method))
        {
            foreach (var caller in callers.GetValueOrDefault(method) ?? [])
            {
                if (all.Add(caller))
                    pending.Enqueue(caller);
            }
        }
        return [.. all.Where(m => m.IsPublic && Visible(m.DeclaringType)).Select(m => m.FullName[(m.FullName.IndexOf(' ') + 1)..])];
    }

    private static bool MakesScalar(MethodReference called) =>
        (called.DeclaringType.FullName == "TorchSharp.Scalar" && called.Name is "op_Implicit" or ".ctor")
        || (called.DeclaringType.FullName == "TorchSharp.ScalarExtensionMethods" && called.ReturnType.FullName == "TorchSharp.Scalar");

    /// <summary>Methods of <paramref name="type"/> whose every return hands back <c>this</c> (directly or through such a method).</summary>
    private static HashSet<MethodDefinition> ReceiverReturning(TypeDefinition type)
    {
        var found = new HashSet<MethodDefinition>();
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var method in type.Methods.Where(m => m.HasBody && !m.IsStatic && !found.Contains(m)))
            {
                var returns = method.Body.Instructions.Where(i => i.OpCode == OpCodes.Ret).ToList();
                bool all = returns.Count > 0 && returns.All(ret => ret.Previous is { } previous
                    && (previous.OpCode == OpCodes.Ldarg_0
                        || (previous.OpCode.Code is Code.Call or Code.Callvirt && previous.Operand is MethodReference m && Resolve(m) is { } target && found.Contains(target))));
                if (all)
                {
                    found.Add(method);
                    changed = true;
                }
            }
        }
        return found;
    }

    private static MethodDefinition? Resolve(MethodReference reference)
    {
        if (reference.DeclaringType.Scope.Name != TorchSharpModule.Name)
            return null;
        try
        {
            return reference.Resolve();
        }
        catch (AssemblyResolutionException)
        {
            return null;
        }
    }

    private static bool Visible(TypeDefinition type) => type.IsNested ? type.IsNestedPublic && Visible(type.DeclaringType) : type.IsPublic;

    private static IEnumerable<INamedTypeSymbol> Types(INamespaceOrTypeSymbol container) =>
        container.GetMembers().SelectMany(member => member switch
        {
            INamespaceSymbol ns => Types(ns),
            INamedTypeSymbol type => Types(type).Prepend(type),
            _ => [],
        });
}
