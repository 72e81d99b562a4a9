using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// The rule language, as an allow-list (rules/README.md states it for authors). Anything not listed here is refused
/// at load time with the rule's file and line:
/// <list type="bullet">
/// <item>Syntax (<see cref="CheckSyntax"/>): names, member access, calls, literals, arithmetic, comparisons,
/// <c>&amp;&amp; || ! ?: ??</c>, constant patterns (<c>is A or B</c>), casts to a number type, tuples (helper
/// arguments), <c>new DateOnly(...)</c>, and expression lambdas only as the direct argument of a call. No
/// statements, assignments, preprocessor directives, string interpolation, indexing, arrays or objects.</item>
/// <item>Symbols (<see cref="CheckSymbols"/>): the scoring model's properties and enum values, the helpers of
/// <see cref="RuleScope"/>, a few members of <c>Math</c>, <c>Nullable</c>, <c>DateOnly</c>, <c>TimeOnly</c>,
/// and the named collection operations of <see cref="CollectionOperations"/> over the model's own lists.
/// Collection operations (and the list helpers) cannot be nested inside a lambda, so an expression runs in time
/// and memory linear in the lists it reads. No delegate values, no generators, no string building, no hash codes,
/// clocks, randomness, environment, I/O or reflection: none of them is on the list.</item>
/// </list>
/// The same allow-list (<see cref="AllowedMember"/>, <see cref="AllowedTypeName"/>) checks a cached assembly
/// before it is loaded (<see cref="RuleAssemblyVerifier"/>).
/// </summary>
/// <summary>What a member of the allow-list is.</summary>
internal enum MemberKind { Property, Field, Method, Operator, Constructor }

internal static class RuleSandbox
{
    public const string Allowed =
        "a rule may use the scoring model (Work, Claimant, Base), the rule helpers (Per, Tiers, TiersOf, InWindow, SumInWindow, TiersInWindow, Between, Within, Slot, Festivals, Prizes, Markets, ContractBefore), " +
        "numbers, arithmetic, comparisons, ?:, Math.Min/Max/Abs/Round/Floor/Ceiling/Truncate/Sign/Clamp and the collection operations " +
        "Count, Any, All, Where, Select, Sum, Distinct, Contains on the work's lists";

    private static readonly HashSet<string> HelperNames =
        ["Work", "Claimant", "Per", "Tiers", "TiersOf", "InWindow", "SumInWindow", "TiersInWindow", "Between", "Within", "Slot", "Festivals", "Prizes", "Markets", "ContractBefore"];

    /// <summary>Whether a rule may call the helper of that name (or read Work, Claimant).</summary>
    internal static bool IsHelper(string name) => HelperNames.Contains(name);

    /// <summary>Helpers that walk the work's lists: like collection operations, never inside a lambda.</summary>
    private static readonly HashSet<string> ListHelpers = ["Festivals", "Prizes", "Markets", "SumInWindow", "TiersInWindow"];

    /// <summary>The collection operations of System.Linq.Enumerable a rule may call: each one pass over its source.</summary>
    public static readonly IReadOnlySet<string> CollectionOperations =
        new HashSet<string> { "Count", "Any", "All", "Where", "Select", "Sum", "Distinct", "Contains" };

    private static readonly HashSet<string> MathMembers = ["Min", "Max", "Abs", "Round", "Floor", "Ceiling", "Truncate", "Sign", "Clamp"];

    /// <summary>Value types a rule computes with (besides the model's own types).</summary>
    private static readonly HashSet<string> ValueTypes =
    [
        "System.Boolean", "System.Int32", "System.Int64", "System.Decimal", "System.String", "System.DateOnly", "System.TimeOnly",
        "System.DayOfWeek", "System.Nullable`1", "System.ValueTuple`2", "System.ValueTuple`3",
        "System.Collections.Generic.IEnumerable`1", "System.Collections.Generic.IReadOnlyList`1",
        "System.Collections.Generic.IReadOnlyCollection`1",
    ];

    /// <summary>Types a rule names but never holds as a value: static classes and the rule class.</summary>
    private static readonly HashSet<string> StaticTypes = ["System.Math", "System.Linq.Enumerable", typeof(RuleScope).FullName!];

    private static readonly HashSet<string> AllowedNamespaces =
        ["System", "System.Linq", "ContributiAutomatici", "ContributiAutomatici.Engine", "ContributiAutomatici.Engine.Model"];

    private const string ModelNamespace = "ContributiAutomatici.Engine.Model";
    public const string GeneratedNamespace = "ContributiAutomatici.Rules.Generated";

    // In a class of its own: RuleSandbox's static fields are initialized together when the verifier of a cached assembly
    // first reads the allow-list, and a HashSet<SyntaxKind> among them would load Roslyn on a warm start.
    private static class SyntaxAllowList
    {
        public static readonly HashSet<SyntaxKind> AllowedSyntax =
        [
            SyntaxKind.IdentifierName, SyntaxKind.QualifiedName, SyntaxKind.AliasQualifiedName, SyntaxKind.SimpleMemberAccessExpression, SyntaxKind.InvocationExpression,
            SyntaxKind.ArgumentList, SyntaxKind.Argument, SyntaxKind.NameColon,
            SyntaxKind.NumericLiteralExpression, SyntaxKind.StringLiteralExpression, SyntaxKind.TrueLiteralExpression,
            SyntaxKind.FalseLiteralExpression, SyntaxKind.NullLiteralExpression,
            SyntaxKind.ParenthesizedExpression, SyntaxKind.ConditionalExpression,
            SyntaxKind.AddExpression, SyntaxKind.SubtractExpression, SyntaxKind.MultiplyExpression, SyntaxKind.DivideExpression,
            SyntaxKind.ModuloExpression, SyntaxKind.LogicalAndExpression, SyntaxKind.LogicalOrExpression, SyntaxKind.CoalesceExpression,
            SyntaxKind.EqualsExpression, SyntaxKind.NotEqualsExpression, SyntaxKind.LessThanExpression, SyntaxKind.LessThanOrEqualExpression,
            SyntaxKind.GreaterThanExpression, SyntaxKind.GreaterThanOrEqualExpression,
            SyntaxKind.LogicalNotExpression, SyntaxKind.UnaryMinusExpression, SyntaxKind.UnaryPlusExpression,
            SyntaxKind.TupleExpression, SyntaxKind.SimpleLambdaExpression, SyntaxKind.ParenthesizedLambdaExpression,
            SyntaxKind.ParameterList, SyntaxKind.Parameter,
            SyntaxKind.ObjectCreationExpression, SyntaxKind.PredefinedType, SyntaxKind.NullableType, SyntaxKind.CastExpression,
            SyntaxKind.ConditionalAccessExpression, SyntaxKind.MemberBindingExpression,
            SyntaxKind.IsPatternExpression, SyntaxKind.ConstantPattern, SyntaxKind.RelationalPattern, SyntaxKind.OrPattern,
            SyntaxKind.AndPattern, SyntaxKind.NotPattern, SyntaxKind.ParenthesizedPattern,
        ];
    }

    /// <summary>Longest rule expression, in characters (the longest of DM 2021 has about 200).</summary>
    public const int MaxExpressionLength = 2_000;

    /// <summary>Deepest nesting of brackets in an expression: the parser and binder recurse on it.</summary>
    public const int MaxNesting = 32;

    /// <summary>
    /// An expression too long or too deeply nested to be a decree's cell, refused before the C# parser sees it (a
    /// parser recursing 100,000 levels deep would overflow the stack and take the process down).
    /// </summary>
    public static (string Message, int Line)? CheckSize(string text)
    {
        if (text.Length > MaxExpressionLength)
            return ($"an expression is at most {MaxExpressionLength} characters, this one has {text.Length}", 0);
        int depth = 0, line = 0;
        foreach (var c in text)
        {
            if (c == '\n') line++;
            else if (c is '(' or '[' or '{' && ++depth > MaxNesting)
                return ($"an expression nests brackets at most {MaxNesting} deep", line);
            else if (c is ')' or ']' or '}') depth--;
        }
        return null;
    }

    /// <summary>
    /// Preprocessor directives anywhere in the text (also after the expression, where the parsed expression does not
    /// hold them): #line would move error locations, #region/#if/#pragma would change what compiles around the rule.
    /// </summary>
    public static (string Message, int Line)? CheckDirectives(string text)
    {
        foreach (var token in SyntaxFactory.ParseTokens(text))
            foreach (var trivia in token.LeadingTrivia.Concat(token.TrailingTrivia))
                if (trivia.IsDirective || trivia.IsKind(SyntaxKind.DisabledTextTrivia) || trivia.IsKind(SyntaxKind.BadDirectiveTrivia))
                    return (Directives, text.AsSpan(0, Math.Min(trivia.SpanStart, text.Length)).Count('\n'));
        return null;
    }

    private const string Directives = "preprocessor directives (#line, #region, #if, #pragma, ...) are not allowed in rules";

    /// <summary>Syntax check of one expression parsed on its own; returns the reason it is refused and its line (0-based), or null.</summary>
    public static (string Message, int Line)? CheckSyntax(ExpressionSyntax expr, bool mayReadClaimant)
    {
        // Directives are trivia, not nodes: #line would move error locations, #region/#if would change what compiles.
        foreach (var trivia in expr.DescendantTrivia(descendIntoTrivia: true))
            if (trivia.IsDirective || trivia.IsKind(SyntaxKind.DisabledTextTrivia) || trivia.IsKind(SyntaxKind.SkippedTokensTrivia))
                return (Directives, Line(trivia.GetLocation()));
        foreach (var node in expr.DescendantNodesAndSelf())
        {
            var why = Refuse(node, mayReadClaimant);
            if (why is not null) return (why, Line(node.GetLocation()));
        }
        return null;

        static int Line(Location l) => l.GetLineSpan().StartLinePosition.Line;
    }

    private static string? Refuse(SyntaxNode node, bool mayReadClaimant)
    {
        switch (node)
        {
            case IdentifierNameSyntax { Identifier.ValueText: "dynamic" }:
                return "dynamic is not allowed in rules";
            case IdentifierNameSyntax { Identifier.ValueText: "Claimant" } when !mayReadClaimant:
                return "table, section and row conditions cannot read Claimant: put a role's own condition in its column ('when' under the role)";
            case LambdaExpressionSyntax lambda:
                if (lambda.Body is BlockSyntax) return "statement bodies are not allowed: write lambdas as 'x => expression'";
                if (lambda.Modifiers.Count > 0) return "lambda modifiers (async, static) are not allowed";
                if (lambda.Parent is not ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax } })
                    return "a lambda is allowed only as the argument of a collection operation, e.g. Work.Festivals.Count(f => f.BestFilmPrize)";
                return null;
            case ParameterSyntax p when p.Modifiers.Count > 0 || p.Default is not null || p.AttributeLists.Count > 0:
                return "lambda parameters are plain names ('f => ...')";
            case ArgumentSyntax a when !a.RefKindKeyword.IsKind(SyntaxKind.None):
                return "ref/out/in arguments are not allowed in rules";
            case CastExpressionSyntax { Type: IdentifierNameSyntax { Identifier.ValueText: "dynamic" } }:
                return "dynamic is not allowed in rules";
            case CastExpressionSyntax c when c.Type is not (PredefinedTypeSyntax or NullableTypeSyntax { ElementType: PredefinedTypeSyntax }):
                return "a cast is allowed to a number type only, e.g. (decimal)x";
            case ObjectCreationExpressionSyntax { Initializer: not null } or ObjectCreationExpressionSyntax { ArgumentList: null }:
                return "only new DateOnly(y, m, d) and new TimeOnly(h, m) may be created in a rule";
        }
        if (SyntaxAllowList.AllowedSyntax.Contains(node.Kind())) return null;
        return node switch
        {
            AssignmentExpressionSyntax => "assignment is not allowed: a rule computes a value, it changes nothing",
            PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostIncrementExpression) || p.IsKind(SyntaxKind.PostDecrementExpression)
                => "++/-- is not allowed: a rule changes nothing",
            PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) || p.IsKind(SyntaxKind.PreDecrementExpression)
                => "++/-- is not allowed: a rule changes nothing",
            PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.AddressOfExpression) || p.IsKind(SyntaxKind.PointerIndirectionExpression)
                => "unsafe code (pointers) is not allowed in rules",
            PointerTypeSyntax or FunctionPointerTypeSyntax or StackAllocArrayCreationExpressionSyntax
                or ImplicitStackAllocArrayCreationExpressionSyntax or SizeOfExpressionSyntax
                => "unsafe code (pointers, stackalloc, sizeof) is not allowed in rules",
            BlockSyntax => "statement bodies are not allowed: write lambdas as 'x => expression'",
            AnonymousMethodExpressionSyntax => "anonymous methods are not allowed: write lambdas as 'x => expression'",
            TypeOfExpressionSyntax => "typeof (reflection) is not allowed in rules",
            RefValueExpressionSyntax or RefTypeExpressionSyntax or MakeRefExpressionSyntax or RefExpressionSyntax
                => "__makeref/__refvalue/ref are not allowed in rules",
            AwaitExpressionSyntax => "await is not allowed in rules",
            InterpolatedStringExpressionSyntax or InterpolatedStringTextSyntax or InterpolationSyntax
                => "string building (interpolated strings) is not allowed: a rule computes a number",
            ElementAccessExpressionSyntax or ElementBindingExpressionSyntax or ImplicitElementAccessSyntax or BracketedArgumentListSyntax
                => "indexing ([...]) is not allowed in rules: use the collection operations (Any, Count, Sum, ...)",
            GenericNameSyntax or TypeArgumentListSyntax => "explicit type arguments (<...>) are not allowed in rules",
            QueryExpressionSyntax or QueryBodySyntax or FromClauseSyntax or SelectClauseSyntax
                => "query syntax (from ... select) is not allowed: use the collection operations (Where, Select, Count, ...)",
            ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax or CollectionExpressionSyntax
                or ImplicitObjectCreationExpressionSyntax or AnonymousObjectCreationExpressionSyntax or InitializerExpressionSyntax
                or WithExpressionSyntax
                => "creating arrays, collections or objects is not allowed in rules (only new DateOnly(y, m, d) and new TimeOnly(h, m))",
            SwitchExpressionSyntax => "switch expressions are not allowed in rules: write ?: (a switch without a matching arm fails)",
            ThrowExpressionSyntax => "throw is not allowed in rules",
            CheckedExpressionSyntax => "checked/unchecked is not allowed: rule arithmetic is always checked",
            RangeExpressionSyntax or PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.IndexExpression }
                => "ranges and indices (.., ^) are not allowed in rules",
            DeclarationExpressionSyntax or DeclarationPatternSyntax or VarPatternSyntax or RecursivePatternSyntax or SingleVariableDesignationSyntax
                => "declaring variables is not allowed in rules",
            _ => $"'{Describe(node.Kind())}' is not part of the rule language: {Allowed}",
        };
    }

    /// <summary>"BitwiseOrExpression" as "bitwise or expression".</summary>
    private static string Describe(SyntaxKind kind)
    {
        var name = kind.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) sb.Append(' ');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
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
            var why = symbol is null ? null : RefuseSymbol(symbol, generated);
            if (why is null && node is ExpressionSyntax e) why = RefuseValue(model, e, symbol);
            if (why is null && symbol is IMethodSymbol m && InsideLambda(node, expr) &&
                (m.ContainingType?.ToDisplayString() == "System.Linq.Enumerable" || IsRuleClass(m.ContainingType, generated) && ListHelpers.Contains(m.Name)))
                why = $"'{m.Name}' cannot be used inside a lambda: collection operations and list helpers are not nested, so a rule runs in time linear in the work";
            if (why is null && node is ObjectCreationExpressionSyntax oc) why = RefuseCreation(model, oc);
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
                var p = ParameterOf(method, inv, arg);
                if (p?.GetAttributes().Any(a => a.AttributeClass?.Name == nameof(MonthDayAttribute)) == true)
                {
                    if (m.GetConstantValue(arg.Expression) is not { HasValue: true, Value: string md } || MonthDayAttribute.Parse(md) < 0)
                        Add(arg, $"argument '{p.Name}' of {method.Name} must be a constant day of the year \"MM-dd\", e.g. \"06-01\"");
                    continue;
                }
                if (p?.GetAttributes().Any(a => a.AttributeClass?.Name == nameof(TimeOfDayAttribute)) == true)
                {
                    CheckTimes(m, arg, p, method);
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
                    var exists = known?.Contains(item) ?? (catalog.Contains(kind, item) || catalog.Group(kind, item) is not null);
                    if (!exists)
                        Add(arg, known is null
                            ? $"'{item}' is not an id nor a group of the {kind} list" +
                              (catalog.GroupNames(kind).Any() ? $" (groups: {string.Join(", ", catalog.GroupNames(kind))})" : "") +
                              YamlKeys.Suggestion(item, catalog.GroupNames(kind).Concat(catalog.Lists.Where(l => l.Kind == kind).SelectMany(l => l.Entries.Select(e => e.Id))))
                            : $"'{item}' is not a {field.ToString().ToLowerInvariant()} of the {kind} list (known: {string.Join(", ", known.Order())})");
                }
            }
        }

        // Slot's ("HH:mm", points) pairs: the times must be constants, so a slot table cannot fail at run time.
        void CheckTimes(SemanticModel m, ArgumentSyntax arg, IParameterSymbol p, IMethodSymbol method)
        {
            if (arg.Expression is not TupleExpressionSyntax { Arguments: [var time, ..] } ||
                m.GetConstantValue(time.Expression) is not { HasValue: true, Value: string hhmm } ||
                !TimeOnly.TryParseExact(hhmm, "HH:mm", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
                Add(arg, $"each slot of {method.Name} must be (\"HH:mm\", points) with a constant time, e.g. (\"07:00\", 30)");
        }
    }

    private static IParameterSymbol? ParameterOf(IMethodSymbol method, InvocationExpressionSyntax inv, ArgumentSyntax arg)
    {
        if (arg.NameColon is { } nc) return method.Parameters.FirstOrDefault(x => x.Name == nc.Name.Identifier.ValueText);
        var i = inv.ArgumentList.Arguments.IndexOf(arg);
        var ps = method.Parameters;
        return i < ps.Length ? ps[i] : ps.Length > 0 && ps[^1].IsParams ? ps[^1] : null;
    }

    private static bool InsideLambda(SyntaxNode node, SyntaxNode root)
    {
        for (var n = node.Parent; n is not null && n != root.Parent; n = n.Parent)
            if (n is LambdaExpressionSyntax) return true;
        return false;
    }

    private static bool IsRuleClass(INamedTypeSymbol? type, INamedTypeSymbol generated) =>
        type is not null && (SymbolEqualityComparer.Default.Equals(type, generated) || type.ToDisplayString() == typeof(RuleScope).FullName);

    /// <summary>DateOnly and TimeOnly are created from constants only, checked here, so creating one cannot fail at run time.</summary>
    private static string? RefuseCreation(SemanticModel model, ObjectCreationExpressionSyntax oc)
    {
        var values = oc.ArgumentList!.Arguments.Select(a => model.GetConstantValue(a.Expression)).ToList();
        if (values.Any(v => !v.HasValue || v.Value is not int))
            return "new DateOnly(...) / new TimeOnly(...) take constant whole numbers";
        var n = values.Select(v => (int)v.Value!).ToArray();
        var type = model.GetTypeInfo(oc).Type?.ToDisplayString();
        try
        {
            _ = type switch
            {
                "System.DateOnly" when n.Length == 3 => (object)new DateOnly(n[0], n[1], n[2]),
                "System.TimeOnly" when n.Length is 2 or 3 => new TimeOnly(n[0], n[1], n.Length == 3 ? n[2] : 0),
                _ => throw new ArgumentOutOfRangeException(nameof(oc)),
            };
            return null;
        }
        catch (ArgumentOutOfRangeException)
        {
            return $"'{oc}' is not a valid date or time";
        }
    }

    /// <summary>The value an expression computes, and what it is converted to, must be of an allowed type; never a delegate but a lambda argument.</summary>
    private static string? RefuseValue(SemanticModel model, ExpressionSyntax e, ISymbol? symbol)
    {
        var info = model.GetTypeInfo(e);
        if (e is LambdaExpressionSyntax) return null; // a direct argument of a call (syntax check); its target is checked as a symbol
        if (info.Type is { } t && (symbol is null or not (INamespaceSymbol or ITypeSymbol)) && RefuseType(t, asValue: true) is { } why) return why;
        if (info.ConvertedType is { } ct && !SymbolEqualityComparer.Default.Equals(ct, info.Type) && RefuseType(ct, asValue: true) is { } why2)
            return why2;
        var conversion = model.GetConversion(e);
        if (conversion.IsUserDefined && conversion.MethodSymbol is { } op && !AllowedOperator(op))
            return Message(op.ToDisplayString());
        return null;
    }

    private static string? RefuseSymbol(ISymbol symbol, INamedTypeSymbol generated)
    {
        switch (symbol)
        {
            case IParameterSymbol or IDiscardSymbol:
                return null;
            case ILocalSymbol or IRangeVariableSymbol or ILabelSymbol:
                return "variables are not allowed in rules";
            case INamespaceSymbol ns:
                var name = ns.ToDisplayString();
                return ns.IsGlobalNamespace || AllowedNamespaces.Contains(name) ? null : Message(name);
            case ITypeSymbol t:
                return RefuseType(t, asValue: false);
            case IMethodSymbol { MethodKind: MethodKind.AnonymousFunction or MethodKind.LambdaMethod }:
                return null;
        }
        var type = symbol.ContainingType;
        if (type is null) return Message(symbol.ToDisplayString());
        if (IsRuleClass(type, generated))
            return HelperNames.Contains(symbol.Name) ? null : $"'{symbol.Name}' is not a rule helper: " + Allowed;
        if (symbol is IMethodSymbol method)
            foreach (var ta in method.TypeArguments)
                if (RefuseType(ta, asValue: true) is { } why) return why;
        var def = symbol is IMethodSymbol { ReducedFrom: { } reduced } ? reduced : symbol.OriginalDefinition;
        return AllowedMember(FullName(def.ContainingType), MemberName(def), KindOf(def), ParameterTypes(def))
            ? null
            : Message(symbol.ToDisplayString());
    }

    private static MemberKind KindOf(ISymbol s) => s switch
    {
        IPropertySymbol => MemberKind.Property,
        IFieldSymbol => MemberKind.Field,
        IMethodSymbol { MethodKind: MethodKind.BuiltinOperator or MethodKind.UserDefinedOperator or MethodKind.Conversion } => MemberKind.Operator,
        IMethodSymbol { MethodKind: MethodKind.Constructor } => MemberKind.Constructor,
        IMethodSymbol { MethodKind: MethodKind.PropertyGet } => MemberKind.Property,
        _ => MemberKind.Method,
    };

    private static string MemberName(ISymbol s) => s is IMethodSymbol { MethodKind: MethodKind.PropertyGet, AssociatedSymbol: { } p } ? p.Name : s.Name;

    private static string[] ParameterTypes(ISymbol s) => s is IMethodSymbol m
        ? m.Parameters.Select(p => SignatureName(p.Type)).Append(SignatureName(m.ReturnType)).ToArray()
        : [];

    private static string SignatureName(ITypeSymbol t) => t is ITypeParameterSymbol ? "T" : FullName(t.OriginalDefinition);

    private static bool AllowedOperator(IMethodSymbol op) =>
        AllowedMember(FullName(op.OriginalDefinition.ContainingType), op.Name, MemberKind.Operator, ParameterTypes(op.OriginalDefinition));

    private static readonly HashSet<string> NumberTypes = ["System.Int32", "System.Int64", "System.Decimal", "T"];

    private static readonly HashSet<string> CollectionSignatureTypes =
        ["T", "System.Collections.Generic.IEnumerable`1", "System.Func`2", "System.Int32", "System.Boolean", "System.Decimal", "System.Nullable`1"];

    private static bool Comparison(string op) =>
        op is "op_Equality" or "op_Inequality" or "op_LessThan" or "op_GreaterThan" or "op_LessThanOrEqual" or "op_GreaterThanOrEqual";

    /// <summary>
    /// The members a rule may use, by declaring type (metadata full name), member name (a property by its own name,
    /// not its getter's) and kind: the one allow-list of the language, shared with the verification of cached
    /// assemblies. <paramref name="signature"/> is the parameter types then the return type (generic types by their
    /// definition, type parameters as "T").
    /// </summary>
    public static bool AllowedMember(string type, string name, MemberKind kind, IReadOnlyList<string> signature)
    {
        if (type.StartsWith(ModelNamespace + ".", StringComparison.Ordinal))
            // The model's data (properties, enum values) and comparisons; no ToString, Equals, GetHashCode, With, Deconstruct.
            return kind switch
            {
                MemberKind.Property => name != "EqualityContract",
                MemberKind.Field => true,
                MemberKind.Operator => Comparison(name),
                _ => false,
            };
        return (type, kind) switch
        {
            ("System.Math", MemberKind.Method) => MathMembers.Contains(name) && signature.All(NumberTypes.Contains),
            ("System.Linq.Enumerable", MemberKind.Method) => CollectionOperations.Contains(name) && signature.All(CollectionSignatureTypes.Contains),
            ("System.Decimal" or "System.Int32" or "System.Int64" or "System.Boolean", MemberKind.Operator) => true,
            // decimal literals are emitted as new decimal(lo, mid, hi, negative, scale)
            ("System.Decimal", MemberKind.Constructor) => true,
            ("System.String" or "System.DayOfWeek", MemberKind.Operator) => name is "op_Equality" or "op_Inequality",
            ("System.DateOnly" or "System.TimeOnly", MemberKind.Operator) => Comparison(name),
            ("System.DateOnly" or "System.TimeOnly", MemberKind.Constructor) => true,
            ("System.DateOnly", MemberKind.Property) => name is "Year" or "Month" or "Day" or "DayOfYear" or "DayOfWeek" or "DayNumber",
            ("System.TimeOnly", MemberKind.Property) => name is "Hour" or "Minute",
            ("System.Nullable`1", MemberKind.Property) => name is "HasValue",
            ("System.Nullable`1", MemberKind.Method) => name is "GetValueOrDefault" && signature.Count == 1,
            ("System.Nullable`1", MemberKind.Constructor) => true,
            ("System.Collections.Generic.IReadOnlyCollection`1", MemberKind.Property) => name is "Count",
            _ => false,
        };
    }

    /// <summary>Whether a type (by its metadata full name) is part of the rule language.</summary>
    public static bool AllowedTypeName(string full, bool asValue) =>
        ValueTypes.Contains(full) || full.StartsWith(ModelNamespace + ".", StringComparison.Ordinal) ||
        full.StartsWith(GeneratedNamespace + ".", StringComparison.Ordinal) || !asValue && StaticTypes.Contains(full);

    private static string? RefuseType(ITypeSymbol type, bool asValue)
    {
        switch (type)
        {
            case IDynamicTypeSymbol: return "dynamic is not allowed in rules";
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol: return "unsafe code (pointers) is not allowed in rules";
            case IArrayTypeSymbol: return "arrays are not allowed in rules";
            case ITypeParameterSymbol or IErrorTypeSymbol: return null;
            case INamedTypeSymbol { TypeKind: TypeKind.Delegate } d:
                return $"'{d.ToDisplayString()}' is a delegate: functions are not values in rules (a lambda is only the argument of a collection operation)";
            case INamedTypeSymbol n:
                if (n.IsTupleType) return n.TupleElements.Select(e => RefuseType(e.Type, asValue: true)).FirstOrDefault(x => x is not null);
                if (n.IsAnonymousType) return "anonymous types are not allowed in rules";
                if (!AllowedTypeName(FullName(n.OriginalDefinition), asValue)) return Message(n.ToDisplayString());
                return n.TypeArguments.Select(a => RefuseType(a, asValue: true)).FirstOrDefault(x => x is not null);
            default:
                return Message(type.ToDisplayString());
        }
    }

    private static string FullName(ITypeSymbol? t)
    {
        if (t is null) return "";
        var ns = t.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() + "." : "";
        return t.ContainingType is { } outer ? FullName(outer) + "+" + t.MetadataName : ns + t.MetadataName;
    }

    private static string Message(string what) => $"'{what}' is not allowed in a rule expression: {Allowed}";
}
