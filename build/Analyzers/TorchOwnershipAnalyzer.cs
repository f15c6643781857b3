using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace FunctionsLlm.Analyzers;

/// <summary>
/// Every TorchSharp wrapper (Tensor, Scalar, Generator) must have an owner: a DisposeScope around its whole use
/// (tensors only: TorchSharp registers nothing else in scopes), a <c>using</c>, a field of the object that disposes it,
/// or the caller it is returned to. A wrapper nobody owns is freed by the finalizer, possibly while a native call that
/// was handed its pointer still runs: the crash of issue 23. The rules:
/// <list type="bullet">
/// <item>FLM0001: a new wrapper that nothing owns.</item>
/// <item>FLM0002: a Scalar made by implicit conversion (<c>t * 2.0</c>, <c>t.add_(x, alpha: 0.5)</c>): no scope owns it.</item>
/// <item>FLM0003: a TorchSharp member that makes such a Scalar inside TorchSharp (<c>a + b</c> adds with a hidden alpha of 1).</item>
/// </list>
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TorchOwnershipAnalyzer : DiagnosticAnalyzer
{
    public static readonly DiagnosticDescriptor Unowned = new(
        "FLM0001", "TorchSharp wrapper without an owner",
        "This {0} has no owner: dispose it with 'using', create it inside a DisposeScope, store it in a field of an IDisposable, or return it",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ImplicitScalar = new(
        "FLM0002", "Implicit TorchSharp Scalar",
        "The {0} → Scalar conversion makes a Scalar that nothing owns (DisposeScopes do not hold Scalars): create it with 'using var s = value.ToScalar()', or keep it in a field",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HiddenScalar = new(
        "FLM0003", "TorchSharp member with a hidden Scalar",
        "'{0}' makes a Scalar inside TorchSharp that nothing owns: call the overload that takes the Scalar (alpha, value, …) and pass an owned one",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [Unowned, ImplicitScalar, HiddenScalar];

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterOperationAction(Analyze,
            OperationKind.Invocation, OperationKind.Conversion, OperationKind.Binary, OperationKind.Unary,
            OperationKind.CompoundAssignment, OperationKind.PropertyReference, OperationKind.ObjectCreation);
    }

    private static void Analyze(OperationAnalysisContext context)
    {
        var operation = context.Operation;
        switch (operation)
        {
            case IConversionOperation { Conversion.IsUserDefined: true } conversion when TorchSharpApi.IsTorchSharp(conversion.OperatorMethod):
                if (TorchSharpApi.WrapperKind(conversion.Type) == "Scalar")
                {
                    context.ReportDiagnostic(Diagnostic.Create(ImplicitScalar, conversion.Syntax.GetLocation(),
                        conversion.Operand.Type?.ToDisplayString() ?? "value"));
                }
                else if (TorchSharpApi.HoldsWrapper(conversion.Type))
                {
                    CheckOwned(context, conversion);
                }
                break;
            case IInvocationOperation invocation:
                ReportHiddenScalar(context, invocation.TargetMethod);
                if (TorchSharpApi.HoldsWrapper(invocation.Type) && !TorchSharpApi.ReturnsReceiver(invocation.TargetMethod))
                    CheckOwned(context, invocation);
                break;
            case IBinaryOperation { OperatorMethod: { } method } binary when TorchSharpApi.IsTorchSharp(method):
                ReportHiddenScalar(context, method);
                if (TorchSharpApi.HoldsWrapper(binary.Type))
                    CheckOwned(context, binary);
                break;
            case IUnaryOperation { OperatorMethod: { } method } unary when TorchSharpApi.IsTorchSharp(method):
                ReportHiddenScalar(context, method);
                if (TorchSharpApi.HoldsWrapper(unary.Type))
                    CheckOwned(context, unary);
                break;
            case ICompoundAssignmentOperation { OperatorMethod: { } method } compound when TorchSharpApi.IsTorchSharp(method):
                ReportHiddenScalar(context, method);
                if (!OwnedTarget(compound.Target) && DisposeScopeDepth(compound) == 0)
                    Report(context, compound);
                break;
            case IPropertyReferenceOperation property when TorchSharpApi.IsTorchSharp(property.Property)
                && TorchSharpApi.HoldsWrapper(property.Type) && !IsAssignmentTarget(property):
                ReportHiddenScalar(context, property.Property.GetMethod);
                CheckOwned(context, property);
                break;
            case IObjectCreationOperation creation when TorchSharpApi.IsWrapper(creation.Type):
                CheckOwned(context, creation);
                break;
        }
    }

    private static void ReportHiddenScalar(OperationAnalysisContext context, IMethodSymbol? method)
    {
        if (TorchSharpApi.CreatesHiddenScalar(method))
            context.ReportDiagnostic(Diagnostic.Create(HiddenScalar, context.Operation.Syntax.GetLocation(), method!.ToDisplayString()));
    }

    /// <summary>Reports <paramref name="created"/>, a new wrapper, unless something owns it.</summary>
    private static void CheckOwned(OperationAnalysisContext context, IOperation created)
    {
        var (top, scopesLeft) = SameWrapper(created);
        bool registers = TorchSharpApi.WrapperKind(created.Type) is "Tensor" or null;   // only tensors join a DisposeScope
        if (registers && DisposeScopeDepth(created) > scopesLeft)
            return;
        if (!OwnedBy(top.Parent, top))
            Report(context, created);
    }

    private static void Report(OperationAnalysisContext context, IOperation created) =>
        context.ReportDiagnostic(Diagnostic.Create(Unowned, created.Syntax.GetLocation(), TorchSharpApi.WrapperKind(created.Type) ?? "tensor"));

    /// <summary>
    /// The outermost expression that is still the same wrapper (through parentheses, casts, tuples, ?: branches, and in-place or
    /// ownership-moving calls that return their receiver), and how many enclosing DisposeScopes those calls moved it out of
    /// (MoveToOuterDisposeScope: one; DetachFromDisposeScope and MoveToOtherDisposeScope: all).
    /// </summary>
    private static (IOperation Top, int ScopesLeft) SameWrapper(IOperation created)
    {
        var top = created;
        int scopesLeft = 0;
        while (true)
        {
            switch (top.Parent)
            {
                case IParenthesizedOperation or IConversionOperation { Conversion.IsUserDefined: false } or ITupleOperation:
                case IConditionalOperation or ICoalesceOperation or ISwitchExpressionArmOperation or ISwitchExpressionOperation:
                case IConditionalAccessOperation access when access.WhenNotNull == top:
                    top = top.Parent;
                    continue;
                case IInvocationOperation call when call.Instance == top && TorchSharpApi.ReturnsReceiver(call.TargetMethod):
                    if (call.TargetMethod.Name == "MoveToOuterDisposeScope")
                        scopesLeft++;
                    else if (TorchSharpApi.OwnershipMoves.Contains(call.TargetMethod.Name))
                        scopesLeft = int.MaxValue;
                    top = call;
                    continue;
                default:
                    return (top, scopesLeft);
            }
        }
    }

    private static bool OwnedBy(IOperation? parent, IOperation value) => parent switch
    {
        IReturnOperation or IFieldInitializerOperation or IPropertyInitializerOperation => true,
        IUsingOperation => true,
        IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => DeclaredOwned(declarator),
        ISimpleAssignmentOperation assignment when assignment.Value == value => OwnedTarget(assignment.Target),
        // A constructor of the project's own types takes what it is given (Batch, LinearLayer); Parameter takes the handle.
        IArgumentOperation { Parent: IObjectCreationOperation creation }
            => !TorchSharpApi.IsTorchSharp(creation.Constructor) || creation.Type?.Name == "Parameter",
        IArgumentOperation { Parent: IInvocationOperation call } => AddsToFieldCollection(call),
        IInvocationOperation { TargetMethod.Name: "Dispose" } call => call.Instance == value,
        _ => false,
    };

    /// <summary><c>_field.Add(x)</c> and the like: the collection, and so the object that has the field, owns x.</summary>
    private static bool AddsToFieldCollection(IInvocationOperation call) =>
        call.Instance is IFieldReferenceOperation
        && call.TargetMethod.Name is "Add" or "TryAdd" or "Insert" or "Push" or "Enqueue" or "AddLast" or "AddFirst";

    private static bool DeclaredOwned(IVariableDeclaratorOperation declarator)
    {
        for (IOperation? o = declarator.Parent; o is not null; o = o.Parent)
        {
            if (o is IUsingDeclarationOperation or IUsingOperation)
                return true;
            if (o is not (IVariableDeclarationOperation or IVariableDeclarationGroupOperation))
                break;
        }
        return LocalDisposedOrHandedOn(declarator.Symbol, declarator);
    }

    /// <summary>
    /// A field, property or array element holds it (its object owns it; TorchSharp's own setters, like an indexer, copy
    /// instead); a local must be disposed or handed on.
    /// </summary>
    private static bool OwnedTarget(IOperation target) => target switch
    {
        IFieldReferenceOperation or IArrayElementReferenceOperation => true,
        IPropertyReferenceOperation property => !TorchSharpApi.IsTorchSharp(property.Property),
        ILocalReferenceOperation local => LocalDisposedOrHandedOn(local.Local, local),
        _ => false,
    };

    /// <summary>Whether the method that declares <paramref name="local"/> disposes it, returns it or stores it in a field.</summary>
    private static bool LocalDisposedOrHandedOn(ILocalSymbol local, IOperation anywhereInMethod)
    {
        var root = anywhereInMethod;
        while (root.Parent is not null)
            root = root.Parent;
        foreach (var reference in root.Descendants().OfType<ILocalReferenceOperation>())
        {
            if (!SymbolEqualityComparer.Default.Equals(reference.Local, local))
                continue;
            var (top, _) = SameWrapper(reference);
            if (DisposesOrHandsOn(top.Parent, top))
                return true;
        }
        return false;
    }

    private static bool DisposesOrHandsOn(IOperation? parent, IOperation value) => parent switch
    {
        IInvocationOperation { TargetMethod.Name: "Dispose" } call => call.Instance == value,
        IConditionalAccessOperation { WhenNotNull: IInvocationOperation { TargetMethod.Name: "Dispose" } } access => access.Operation == value,
        IReturnOperation or IUsingOperation => true,
        IArgumentOperation { Parent: IInvocationOperation call } => AddsToFieldCollection(call),
        ISimpleAssignmentOperation { Target: IFieldReferenceOperation or IArrayElementReferenceOperation } assignment => assignment.Value == value,
        _ => false,
    };

    private static bool IsAssignmentTarget(IOperation operation) =>
        operation.Parent is IAssignmentOperation assignment && assignment.Target == operation;

    /// <summary>
    /// How many DisposeScopes the operation runs in: <c>using var … = NewDisposeScope()</c> declarations before it, and
    /// <c>using (NewDisposeScope())</c> statements around it, in the same method, lambda or local function.
    /// </summary>
    private static int DisposeScopeDepth(IOperation operation)
    {
        int depth = 0;
        for (var node = operation.Syntax; node is not null; node = node.Parent)
        {
            switch (node)
            {
                case Microsoft.CodeAnalysis.CSharp.Syntax.AnonymousFunctionExpressionSyntax:
                case Microsoft.CodeAnalysis.CSharp.Syntax.LocalFunctionStatementSyntax:
                case Microsoft.CodeAnalysis.CSharp.Syntax.MemberDeclarationSyntax:
                case Microsoft.CodeAnalysis.CSharp.Syntax.AccessorDeclarationSyntax:
                    return depth;
                case Microsoft.CodeAnalysis.CSharp.Syntax.UsingStatementSyntax statement
                    when statement.Statement.Span.Contains(operation.Syntax.Span)
                        && (IsNewDisposeScope(statement.Expression) || statement.Declaration?.Variables.Any(v => IsNewDisposeScope(v.Initializer?.Value)) == true):
                    depth++;
                    break;
                case Microsoft.CodeAnalysis.CSharp.Syntax.BlockSyntax block:
                    foreach (var statement in block.Statements)
                    {
                        if (statement.Span.Contains(operation.Syntax.Span))
                            break;
                        if (statement is Microsoft.CodeAnalysis.CSharp.Syntax.LocalDeclarationStatementSyntax { UsingKeyword.RawKind: not 0 } declaration
                            && declaration.Declaration.Variables.Any(v => IsNewDisposeScope(v.Initializer?.Value)))
                        {
                            depth++;
                        }
                    }
                    break;
            }
        }
        return depth;
    }

    private static bool IsNewDisposeScope(SyntaxNode? expression) =>
        expression is Microsoft.CodeAnalysis.CSharp.Syntax.InvocationExpressionSyntax invocation
        && invocation.Expression switch
        {
            Microsoft.CodeAnalysis.CSharp.Syntax.IdentifierNameSyntax name => name.Identifier.ValueText == "NewDisposeScope",
            Microsoft.CodeAnalysis.CSharp.Syntax.MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText == "NewDisposeScope",
            _ => false,
        };
}
