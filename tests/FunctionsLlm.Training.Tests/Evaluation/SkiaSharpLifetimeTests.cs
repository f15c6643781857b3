using Mono.Cecil;
using Mono.Cecil.Cil;
using SkiaSharp;

namespace FunctionsLlm.Training.Tests.Evaluation;

/// <summary>
/// The loss curve goes through ScottPlot, whose font set-up reads <c>SKTypeface.FamilyName</c>: SkiaSharp wraps the
/// native string in a temporary <c>SKString</c> and reads it in <c>SKString.ToString</c>. Unless both keep their wrapper
/// alive past the native calls, a GC on another thread lets the finalizer delete the string while it is read: with
/// SkiaSharp 3.119 (ScottPlot's own) <c>flm eval</c> died with SIGSEGV in <c>sk_string_get_size</c> about once in six
/// runs under FLM_GC_STRESS (issue 23). This pins a SkiaSharp whose IL has the <c>GC.KeepAlive</c>.
/// </summary>
public sealed class SkiaSharpLifetimeTests
{
    [Theory]
    [InlineData("SkiaSharp.SKString", "ToString")]
    [InlineData("SkiaSharp.SKTypeface", "get_FamilyName")]
    public void Native_string_reads_keep_their_wrapper_alive(string typeName, string methodName)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(typeof(SKTypeface).Assembly.Location);
        var type = assembly.MainModule.GetType(typeName);
        Assert.NotNull(type);
        var methods = type.Methods.Where(m => m.Name == methodName && m.HasBody).ToList();
        Assert.NotEmpty(methods);
        foreach (var method in methods)
        {
            bool keepsAlive = method.Body.Instructions.Any(i => i.OpCode == OpCodes.Call && i.Operand is MethodReference called
                && called.DeclaringType.FullName == "System.GC" && called.Name == "KeepAlive");
            Assert.True(keepsAlive, $"{typeName}.{methodName} in SkiaSharp {typeof(SKTypeface).Assembly.GetName().Version} " +
                "does not call GC.KeepAlive: its wrapper can be finalized during the native call");
        }
    }
}
