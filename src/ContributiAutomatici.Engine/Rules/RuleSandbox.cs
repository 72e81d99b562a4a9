using ContributiAutomatici.Engine.Scoring;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// The sandbox of rule expressions. Syntax: an expression only (no statements, no assignment, no
/// statement lambdas, no unsafe/pointer code, no typeof). Symbols: the scoring model, the helpers of
/// <see cref="RuleScope"/>, plain values, System.Math and LINQ; anything else (System.IO, reflection,
/// processes, threads, networking, dynamic, ...) is refused at load time with the rule's file and line.
/// </summary>
internal static class RuleSandbox
{
    public const string Allowed =
        "a rule may use the scoring model (Work, Claimant, Base), the rule helpers (Per, Tiers, TiersOf, InWindow, Between, Within, Slot, Festivals, Prizes, Markets, ContractBefore), plain values, System.Math and LINQ";

    private static readonly HashSet<string> HelperNames =
        ["Work", "Claimant", "Per", "Tiers", "TiersOf", "InWindow", "Between", "Within", "Slot", "Festivals", "Prizes", "Markets", "ContractBefore"];

    private static readonly HashSet<string> AllowedTypes =
    [
        "System.Boolean", "System.Byte", "System.Int16", "System.Int32", "System.Int64", "System.Double", "System.Single",
        "System.Decimal", "System.Char", "System.String", "System.Object", "System.DateOnly", "System.TimeOnly",
        "System.DayOfWeek", "System.Math", "System.Array", "System.Nullable`1", "System.ReadOnlySpan`1",
        "System.ValueTuple`2", "System.ValueTuple`3", "System.ValueTuple`4",
        "System.Func`1", "System.Func`2", "System.Func`3",
        "System.Linq.Enumerable", "System.Linq.IOrderedEnumerable`1", "System.Linq.IGrouping`2",
        "System.Collections.Generic.IEnumerable`1", "System.Collections.Generic.IReadOnlyList`1",
        "System.Collections.Generic.IReadOnlyCollection`1",
    ];

    private static readonly HashSet<string> AllowedNamespaces =
        ["", "System", "System.Linq", "System.Collections", "System.Collections.Generic", "ContributiAutomatici",
         "ContributiAutomatici.Engine", "ContributiAutomatici.Engine.Model"];

    private static readonly HashSet<string> ForbiddenObjectMembers = ["GetType", "MemberwiseClone", "Finalize", "ReferenceEquals"];

    /// <summary>Syntax check of one expression parsed on its own; returns the reason it is refused, or null.</summary>
    public static (string Message, int Line)? CheckSyntax(ExpressionSyntax expr, bool mayReadClaimant)
    {
        foreach (var node in expr.DescendantNodesAndSelf())
        {
            string? why = node switch
            {
                AssignmentExpressionSyntax => "assignment is not allowed: a rule computes a value, it changes nothing",
                PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostIncrementExpression) || p.IsKind(SyntaxKind.PostDecrementExpression)
                    => "++/-- is not allowed: a rule changes nothing",
                PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) || p.IsKind(SyntaxKind.PreDecrementExpression)
                    => "++/-- is not allowed: a rule changes nothing",
                PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.AddressOfExpression) || p.IsKind(SyntaxKind.PointerIndirectionExpression)
                    => "unsafe code (pointers) is not allowed in rules",
                PointerTypeSyntax or FunctionPointerTypeSyntax or StackAllocArrayCreationExpressionSyntax
                    or ImplicitStackAllocArrayCreationExpressionSyntax or FixedStatementSyntax
                    => "unsafe code (pointers, stackalloc) is not allowed in rules",
                BlockSyntax => "statement bodies are not allowed: write lambdas as 'x => expression'",
                AnonymousMethodExpressionSyntax => "anonymous methods are not allowed: write lambdas as 'x => expression'",
                TypeOfExpressionSyntax => "typeof (reflection) is not allowed in rules",
                RefValueExpressionSyntax or RefTypeExpressionSyntax or MakeRefExpressionSyntax
                    => "__makeref/__refvalue are not allowed in rules",
                AwaitExpressionSyntax => "await is not allowed in rules",
                IdentifierNameSyntax { Identifier.ValueText: "dynamic" } => "dynamic is not allowed in rules",
                IdentifierNameSyntax { Identifier.ValueText: "Claimant" } when !mayReadClaimant
                    => "table, section and row conditions cannot read Claimant: put a role's own condition in its column ('when' under the role)",
                _ => null,
            };
            if (why is not null) return (why, node.GetLocation().GetLineSpan().StartLinePosition.Line);
        }
        return null;
    }

    /// <summary>Symbol check of an expression inside the compiled rule class; adds errors for what it may not use.</summary>
    public static void CheckSymbols(SemanticModel model, ExpressionSyntax expr, INamedTypeSymbol generated, ListCatalog lists,
        List<RuleError> errors)
    {
        (SyntaxNode Node, string Why)? first = null;
        foreach (var node in expr.DescendantNodesAndSelf())
        {
            if (node is not (ExpressionSyntax or TypeSyntax)) continue;
            var info = model.GetSymbolInfo(node);
            var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
            var why = symbol is null ? null : Refuse(symbol, generated);
            if (why is null && node is ExpressionSyntax e && model.GetTypeInfo(e).Type is { } type) why = RefuseType(type);
            if (why is not null)
            {
                // One error per expression, about the root cause: the leftmost, innermost offending node
                // (System.IO in System.IO.File.ReadAllText(...).Length, not the .Length at the end).
                if (first is null || node.SpanStart < first.Value.Node.SpanStart ||
                    node.SpanStart == first.Value.Node.SpanStart && node.Span.Length < first.Value.Node.Span.Length)
                    first = (node, why);
                continue;
            }
            if (node is InvocationExpressionSyntax inv && symbol is IMethodSymbol method)
                CheckListReferences(model, inv, method, lists);
        }
        if (first is { } f) Add(f.Node, f.Why);

        void Add(SyntaxNode node, string why)
        {
            var span = node.GetLocation().GetMappedLineSpan();
            errors.Add(new RuleError(span.Path, span.StartLinePosition.Line + 1, why));
        }

        void CheckListReferences(SemanticModel m, InvocationExpressionSyntax inv, IMethodSymbol method, ListCatalog catalog)
        {
            foreach (var arg in inv.ArgumentList.Arguments)
            {
                var p = arg.NameColon is { } nc
                    ? method.Parameters.FirstOrDefault(x => x.Name == nc.Name.Identifier.ValueText)
                    : method.Parameters.ElementAtOrDefault(inv.ArgumentList.Arguments.IndexOf(arg));
                if (p?.GetAttributes().Any(a => a.AttributeClass?.Name == nameof(MonthDayAttribute)) == true)
                {
                    if (m.GetConstantValue(arg.Expression) is not { HasValue: true, Value: string md } || MonthDayAttribute.Parse(md) < 0)
                        Add(arg, $"argument '{p.Name}' of {method.Name} must be a constant day of the year \"MM-dd\", e.g. \"06-01\"");
                    continue;
                }
                var attr = p?.GetAttributes().FirstOrDefault(a => a.AttributeClass?.Name == nameof(ListReferenceAttribute));
                if (attr is null) continue;
                var kind = (string)attr.ConstructorArguments[0].Value!;
                var field = (ListField)(int)attr.ConstructorArguments[1].Value!;
                if (m.GetConstantValue(arg.Expression) is not { HasValue: true, Value: string value })
                {
                    Add(arg, $"argument '{p!.Name}' of {method.Name} must be a constant string naming Tabella entries");
                    continue;
                }
                if (!catalog.HasList(kind))
                {
                    Add(arg, $"{method.Name} needs the '{kind}' list, which this rule set does not declare");
                    continue;
                }
                var known = field switch
                {
                    ListField.Band => catalog.Bands(kind).ToHashSet(),
                    ListField.Category => catalog.Categories(kind).ToHashSet(),
                    _ => null,
                };
                foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (item == "*") continue;
                    var exists = known?.Contains(item) ?? catalog.Contains(kind, item);
                    if (!exists)
                        Add(arg, $"'{item}' is not a {field.ToString().ToLowerInvariant()} of the {kind} list" +
                            (known is null ? "" : $" (known: {string.Join(", ", known.Order())})"));
                }
            }
        }
    }

    private static string? Refuse(ISymbol symbol, INamedTypeSymbol generated)
    {
        switch (symbol)
        {
            case ILocalSymbol or IParameterSymbol or IRangeVariableSymbol or IDiscardSymbol or ILabelSymbol:
                return null;
            case INamespaceSymbol ns:
                var name = ns.ToDisplayString();
                return ns.IsGlobalNamespace || AllowedNamespaces.Contains(name) ? null : Message(name);
            case ITypeSymbol t:
                return RefuseType(t);
            case IMethodSymbol m when m.MethodKind is MethodKind.AnonymousFunction or MethodKind.LambdaMethod:
                return null;
        }
        var type = symbol.ContainingType;
        if (type is null) return Message(symbol.ToDisplayString());
        if (SymbolEqualityComparer.Default.Equals(type, generated) ||
            type.ToDisplayString() == typeof(RuleScope).FullName)
            return HelperNames.Contains(symbol.Name) ? null : $"'{symbol.Name}' is not a rule helper: " + Allowed;
        if (type.SpecialType == SpecialType.System_Object && ForbiddenObjectMembers.Contains(symbol.Name))
            return Message($"object.{symbol.Name}");
        if (symbol.Name == "GetType") return Message(symbol.ToDisplayString());
        if (symbol is IMethodSymbol method)
            foreach (var ta in method.TypeArguments)
                if (RefuseType(ta) is { } why) return why;
        return RefuseType(type) is null ? null : Message(symbol.ToDisplayString());
    }

    private static string? RefuseType(ITypeSymbol type)
    {
        switch (type)
        {
            case IDynamicTypeSymbol: return "dynamic is not allowed in rules";
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol: return "unsafe code (pointers) is not allowed in rules";
            case IArrayTypeSymbol a: return RefuseType(a.ElementType);
            case ITypeParameterSymbol or IErrorTypeSymbol: return null;
            case INamedTypeSymbol n:
                if (n.IsTupleType) return n.TupleElements.Select(e => RefuseType(e.Type)).FirstOrDefault(x => x is not null);
                if (n.IsAnonymousType) return null;
                var def = n.OriginalDefinition;
                var ns = def.ContainingNamespace?.ToDisplayString() ?? "";
                var full = ns.Length == 0 ? def.MetadataName : ns + "." + def.MetadataName;
                var ok = AllowedTypes.Contains(full) || ns == "ContributiAutomatici.Engine.Model" ||
                         full == typeof(RuleScope).FullName || ns == "ContributiAutomatici.Rules.Generated";
                if (!ok) return Message(n.ToDisplayString());
                return n.TypeArguments.Select(RefuseType).FirstOrDefault(x => x is not null);
            default:
                return Message(type.ToDisplayString());
        }
    }

    private static string Message(string what) => $"'{what}' is not allowed in a rule expression: {Allowed}";
}
