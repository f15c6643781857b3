using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace FunctionsLlm.Analyzers.Tests;

/// <summary>Compiles C# members against TorchSharp and runs the ownership analyzer on them.</summary>
internal static class Snippet
{
    private static readonly MetadataReference[] References =
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p))];

    /// <summary>The analyzer's diagnostics for <paramref name="members"/> placed in a class (which may declare fields).</summary>
    public static ImmutableArray<Diagnostic> Analyze(string members)
    {
        string source = $$"""
            using System;
            using System.Collections.Generic;
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public sealed class Sample
            {
                private static readonly Scalar One = 1.ToScalar();

            {{members}}
            }
            """;
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("Snippet", [tree], References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the snippet does not compile: " + string.Join("; ", errors));
        return compilation.WithAnalyzers([new TorchOwnershipAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
    }

    /// <summary>The rule ids found, with the source text each one points at: "FLM0001 p.grad".</summary>
    public static IReadOnlyList<string> Findings(string members) =>
        [.. Analyze(members).Select(d => $"{d.Id} {d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan)}").Order(StringComparer.Ordinal)];
}
