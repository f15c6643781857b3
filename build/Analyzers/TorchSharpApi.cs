using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace FunctionsLlm.Analyzers;

/// <summary>
/// What the ownership analyzer knows about TorchSharp 0.107: which types wrap a native object freed by a finalizer,
/// which members hand back their receiver rather than a new wrapper, and which members create a <c>Scalar</c> of
/// their own that nobody disposes. The last two are checked against TorchSharp's IL by
/// tests/FunctionsLlm.Analyzers.Tests (TorchSharpIlTests), so an upgrade that changes them fails a test.
/// </summary>
public static class TorchSharpApi
{
    private const string Assembly = "TorchSharp";

    /// <summary>
    /// In-place methods (trailing underscore) that return a new wrapper in some overload or on some path (eq_, ge_ and gt_
    /// return a new tensor made from <c>false</c> when their argument is null).
    /// </summary>
    public static readonly ImmutableHashSet<string> InPlaceReturningNewWrapper =
        ImmutableHashSet.Create(StringComparer.Ordinal, "zero_", "gelu_", "tril_", "triu_", "elu_", "eq_", "ge_", "gt_");

    /// <summary>Methods that move a wrapper between owners and return it.</summary>
    public static readonly ImmutableHashSet<string> OwnershipMoves =
        ImmutableHashSet.Create(StringComparer.Ordinal, "DetachFromDisposeScope", "MoveToOuterDisposeScope", "MoveToOtherDisposeScope");

    /// <summary>
    /// Public TorchSharp members (IL signatures, <see cref="Signature"/>) that create a Scalar (directly or through a
    /// member they call) and leave it to the finalizer: it can be freed while the native call that reads it runs.
    /// </summary>
    public static ImmutableHashSet<string> HiddenScalarMembers { get; } = LoadHiddenScalarMembers();

    public static bool IsTorchSharp(ISymbol? symbol) => symbol?.ContainingAssembly?.Name == Assembly;

    /// <summary>Tensor (and Parameter), Scalar or Generator: a handle to native memory with a finalizer that frees it.</summary>
    public static bool IsWrapper(ITypeSymbol? type) => WrapperKind(type) is not null;

    /// <summary>"Tensor", "Scalar", "Generator", or null.</summary>
    public static string? WrapperKind(ITypeSymbol? type)
    {
        for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
        {
            if (!IsTorchSharp(t))
                continue;
            string name = Signature(t);
            if (name == "TorchSharp.torch/Tensor")
                return "Tensor";
            if (name == "TorchSharp.Scalar")
                return "Scalar";
            if (name == "TorchSharp.torch/Generator")
                return "Generator";
        }
        return null;
    }

    /// <summary>A wrapper, an array of wrappers, or a tuple holding one.</summary>
    public static bool HoldsWrapper(ITypeSymbol? type) => type switch
    {
        null => false,
        IArrayTypeSymbol array => HoldsWrapper(array.ElementType),
        INamedTypeSymbol { IsTupleType: true } tuple => tuple.TupleElements.Any(e => HoldsWrapper(e.Type)),
        _ => IsWrapper(type),
    };

    /// <summary>Whether a TorchSharp method returns its receiver (in place) instead of a new wrapper.</summary>
    public static bool ReturnsReceiver(IMethodSymbol method)
    {
        if (!IsTorchSharp(method) || method.IsStatic || !IsWrapper(method.ReturnType))
            return false;
        return OwnershipMoves.Contains(method.Name) || (WrapperKind(method.ContainingType) == "Tensor" && IsInPlaceName(method.Name));
    }

    /// <summary>A Tensor method named like an in-place operation that returns its receiver in every overload.</summary>
    public static bool IsInPlaceName(string name) =>
        name.EndsWith("_", StringComparison.Ordinal) && !InPlaceReturningNewWrapper.Contains(name);

    public static bool CreatesHiddenScalar(IMethodSymbol? method) =>
        method is not null && IsTorchSharp(method) && HiddenScalarMembers.Contains(Signature(method.OriginalDefinition));

    /// <summary>A method as Mono.Cecil writes it without the return type: <c>TorchSharp.torch/Tensor::add(TorchSharp.torch/Tensor)</c>.</summary>
    public static string Signature(IMethodSymbol method)
    {
        string parameters = string.Join(",", method.Parameters.Select(p => Signature(p.Type) + (p.RefKind == RefKind.None ? "" : "&")));
        return $"{Signature(method.ContainingType)}::{method.MetadataName}({parameters})";
    }

    /// <summary>A type as Mono.Cecil writes it: nested types after '/', generic arguments in angle brackets.</summary>
    public static string Signature(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => Signature(array.ElementType) + "[" + new string(',', array.Rank - 1) + "]",
        IPointerTypeSymbol pointer => Signature(pointer.PointedAtType) + "*",
        ITypeParameterSymbol parameter => parameter.Name,
        INamedTypeSymbol named => NamedSignature(named),
        _ => type.ToDisplayString(),
    };

    private static string NamedSignature(INamedTypeSymbol type)
    {
        var definition = type.OriginalDefinition;
        string name = definition.ContainingType is { } outer
            ? NamedSignature(outer.OriginalDefinition) + "/" + definition.MetadataName
            : (definition.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." : "") + definition.MetadataName;
        if (type.IsGenericType && !SymbolEqualityComparer.Default.Equals(type, definition))
            name += "<" + string.Join(",", type.TypeArguments.Select(Signature)) + ">";
        return name;
    }

    private static ImmutableHashSet<string> LoadHiddenScalarMembers()
    {
        using var stream = typeof(TorchSharpApi).Assembly.GetManifestResourceStream("HiddenScalarMembers.txt")
            ?? throw new InvalidOperationException("HiddenScalarMembers.txt is not embedded");
        using var reader = new StreamReader(stream);
        var members = new List<string>();
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.Length > 0 && line[0] != '#')
                members.Add(line);
        }
        return members.ToImmutableHashSet(StringComparer.Ordinal);
    }
}
