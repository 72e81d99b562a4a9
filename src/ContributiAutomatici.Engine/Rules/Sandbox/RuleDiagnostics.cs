using System.Reflection;
using System.Text.RegularExpressions;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// The compiler's errors inside rule expressions, said in the rule language: where (rule set, table, row, role or
/// 'when'/'applies', file:line:column of the YAML file), what (the offending name, in plain words, without the compiler's
/// codes and jargon) and the nearest names an author may have meant, among the model's members (Work, Claimant and the
/// types they hold), the rule helpers and the row's figures (<c>did you mean Work.BoxOfficeTotal?</c>).
/// Part of <see cref="RoslynEmitter"/>: used only when a rule set is compiled, never on a warm start.
/// </summary>
internal sealed partial class RuleDiagnostics(RuleSetDefinition def, SyntaxTree tree, Compilation compilation, IReadOnlyList<RuleCompiler.ExpressionSite> sites)
{
    private readonly Dictionary<string, RuleCompiler.ExpressionSite> _byMethod = sites.GroupBy(x => x.Method).ToDictionary(g => g.Key, g => g.First());
    private SemanticModel? _model;
    private SemanticModel Semantic => _model ??= compilation.GetSemanticModel(tree);

    /// <summary>The error for a compiler diagnostic inside the rule expression of <paramref name="node"/>'s method; null when it is not inside one.</summary>
    public RuleError? Describe(Diagnostic d, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<MethodDeclarationSyntax>() is not { } method || !_byMethod.TryGetValue(method.Identifier.ValueText, out var site) ||
            RuleExpressionOf(method) is not { } paren)
            return null;
        var offset = Math.Clamp(d.Location.SourceSpan.Start - paren.OpenParenToken.Span.End, 0, site.Expr.Text.Length);
        var (line, column) = Position(site.Expr, offset);
        return new RuleError(site.Expr.Location.File, line, $"{Context(def, site.Expr)}: {Explain(d, node, method, site)}", column);
    }

    /// <summary>A refusal of the sandbox (or any error already at the expression's line) with the rule set, table, row and role in front.</summary>
    public RuleError InRule(MethodDeclarationSyntax method, RuleError e) =>
        _byMethod.TryGetValue(method.Identifier.ValueText, out var site) ? e with { Message = $"{Context(def, site.Expr)}: {e.Message}" } : e;

    /// <summary>The parenthesized rule expression the generated method returns (under its #line directive), or null.</summary>
    internal static ParenthesizedExpressionSyntax? RuleExpressionOf(MethodDeclarationSyntax method)
    {
        if (method.Body?.Statements is not [ExpressionStatementSyntax, ReturnStatementSyntax { Expression: { } body }]) return null;
        var ruleExpr = body is InvocationExpressionSyntax { ArgumentList.Arguments: [var only] } floor &&
                       floor.Expression.ToString() == "Math.Floor" ? only.Expression : body;
        return ruleExpr as ParenthesizedExpressionSyntax;
    }

    /// <summary>
    /// "rule set dm-2021, table T1, row T1.A.1 (producer) points": where an expression sits in the rule language (found by
    /// reference among the rule set's tables, or "rule set dm-2021" alone for one that is not there).
    /// </summary>
    public static string Context(RuleSetDefinition def, RuleExpression expr) => Locate(def, expr).Context;

    /// <summary>Where an expression sits (<see cref="Context"/>) and its row, if it is a row's.</summary>
    private static (string Context, RowDefinition? Row) Locate(RuleSetDefinition def, RuleExpression expr)
    {
        foreach (var table in def.Tables)
        {
            var at = $"rule set {def.Id}, table {table.Id}";
            if (ReferenceEquals(table.Applies, expr)) return (at + " 'applies'", null);
            foreach (var section in table.Sections)
            {
                if (ReferenceEquals(section.When, expr)) return ($"{at}, section {section.Id} 'when'", null);
                foreach (var row in section.Rows)
                {
                    if (ReferenceEquals(row.When, expr)) return ($"{at}, row {row.Id} 'when'", row);
                    foreach (var cell in row.Cells)
                    {
                        if (ReferenceEquals(cell.When, expr)) return ($"{at}, row {row.Id} ({RoleNames.Key(cell.Role)}) 'when'", row);
                        if (ReferenceEquals(cell.Points, expr)) return ($"{at}, row {row.Id} ({RoleNames.Key(cell.Role)}) points", row);
                    }
                }
            }
        }
        return ($"rule set {def.Id}", null);
    }

    /// <summary>
    /// The file line and column (1-based) of character <paramref name="offset"/> of the expression: its line as
    /// <see cref="RuleExpression.LineOf"/> says, the column found by the expression's own text on that line of the file
    /// (after its quote, or its block's indentation); the expression's own column when the file says otherwise.
    /// </summary>
    public static (int Line, int Column) Position(RuleExpression e, int offset)
    {
        var text = e.Text;
        offset = Math.Clamp(offset, 0, text.Length);
        var start = text.LastIndexOf('\n', Math.Max(0, offset - 1)) is var nl && nl >= 0 && nl < offset ? nl + 1 : 0;
        var inner = 0;
        for (var i = 0; i < start; i++) if (text[i] == '\n') inner++;
        var innerColumn = offset - start;
        var line = e.LineOf(inner);
        if (!e.FileLines && inner > 0) return (line, 0);
        var end = text.IndexOf('\n', start);
        var exprLine = (end < 0 ? text[start..] : text[start..end]).TrimEnd('\r');
        var fileLine = ReadLine(e.Location.File, line);
        if (fileLine is not null && exprLine.Length > 0)
        {
            var from = inner == 0 && e.LineOffset == 0 ? Math.Clamp(e.Location.Column - 1, 0, fileLine.Length) : 0;
            var found = fileLine.IndexOf(exprLine, from, StringComparison.Ordinal);
            if (found >= 0) return (line, found + 1 + innerColumn);
        }
        return inner == 0 && e.LineOffset == 0 ? (line, e.Location.Column + innerColumn) : (line, 0);
    }

    private static string? ReadLine(string file, int line)
    {
        try
        {
            return line < 1 ? null : File.ReadLines(file).Skip(line - 1).FirstOrDefault();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // ------------------------------------------------------------------ what went wrong, in plain words

    private string Explain(Diagnostic d, SyntaxNode node, MethodDeclarationSyntax method, RuleCompiler.ExpressionSite site)
    {
        var message = d.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        switch (d.Id)
        {
            case "CS1061" or "CS0117" when MemberAccessOf(node) is var (receiver, name) && name.Length > 0:
                return UnknownMember(receiver, name);
            case "CS0103" or "CS0246" when node is SimpleNameSyntax simple:
                return UnknownName(simple.Identifier.ValueText, method, site.Expr);
            case "CS1501" when node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is { } call:
                return WrongArgumentCount(call);
            case "CS1503" when node.FirstAncestorOrSelf<ArgumentSyntax>() is { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax call } list } arg &&
                               ConvertTypes().Match(message) is { Success: true } m:
                return call.Expression.ToString() == "Math.Floor" && RuleExpressionOf(method) is { } whole && arg.Expression == whole
                    ? $"points must be a number; this expression gives {Kind(m.Groups[1].Value)}"
                    : $"value {list.Arguments.IndexOf(arg) + 1} of {call.Expression} must be {Kind(m.Groups[2].Value)}, not {Kind(m.Groups[1].Value)}{DoubleHint(m.Groups[1].Value)}";
            case "CS0029" or "CS0266" when ImplicitTypes().Match(message) is { Success: true } m:
                if (RuleExpressionOf(method) is { } paren && (node == paren || node == paren.Expression))
                    return site.ReturnType == "bool"
                        ? $"a condition must be true or false; this expression gives {Kind(m.Groups[1].Value)}"
                        : $"points must be a number; this expression gives {Kind(m.Groups[1].Value)}{DoubleHint(m.Groups[1].Value)}";
                return $"{Kind(m.Groups[1].Value)} where {Kind(m.Groups[2].Value)} is needed{DoubleHint(m.Groups[1].Value)}";
            case "CS0019" when BinaryTypes().Match(message) is { Success: true } m:
                return $"'{m.Groups[1].Value}' cannot be applied to {Kind(m.Groups[2].Value)} and {Kind(m.Groups[3].Value)}" +
                       DoubleHint(m.Groups[2].Value + m.Groups[3].Value);
            case "CS0023" when UnaryTypes().Match(message) is { Success: true } m:
                return $"'{m.Groups[1].Value}' cannot be applied to {Kind(m.Groups[2].Value)}";
            default:
                return Plain(message);
        }
    }

    /// <summary>The receiver and the name of the member access (or ?. binding) <paramref name="node"/> names.</summary>
    private static (ExpressionSyntax? Receiver, string Name) MemberAccessOf(SyntaxNode node) => node switch
    {
        MemberAccessExpressionSyntax ma => (ma.Expression, ma.Name.Identifier.ValueText),
        SimpleNameSyntax { Parent: MemberAccessExpressionSyntax ma } n when ma.Name == n => (ma.Expression, n.Identifier.ValueText),
        SimpleNameSyntax { Parent: MemberBindingExpressionSyntax mb } n =>
            (mb.FirstAncestorOrSelf<ConditionalAccessExpressionSyntax>()?.Expression, n.Identifier.ValueText),
        MemberBindingExpressionSyntax mb => (mb.FirstAncestorOrSelf<ConditionalAccessExpressionSyntax>()?.Expression, mb.Name.Identifier.ValueText),
        _ => (null, ""),
    };

    private string UnknownMember(ExpressionSyntax? receiver, string name)
    {
        var type = receiver is null ? null : Semantic.GetTypeInfo(receiver).Type ?? Semantic.GetSymbolInfo(receiver).Symbol as ITypeSymbol;
        var owner = receiver?.ToString() ?? "the value";
        if (type is null) return $"{owner} has no member '{name}'";
        var members = MembersOf(type).ToList();
        var described = owner == type.Name || owner is "Work" or "Claimant" ? owner : $"{owner} ({Kind(type.ToDisplayString())})";
        return $"{described} has no member '{name}'{Suggest(name, members.Select(m => (m, $"{owner}.{m}")))}";
    }

    /// <summary>The members an expression may read of a type: public properties and fields (an enum's values), and a list's operations.</summary>
    private static IEnumerable<string> MembersOf(ITypeSymbol type)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T, TypeArguments: [var underlying] })
            return MembersOf(underlying).Concat(["HasValue", "GetValueOrDefault"]);
        var own = type.GetMembers().Where(m => m.DeclaredAccessibility == Accessibility.Public && !m.IsImplicitlyDeclared &&
                                              m is IPropertySymbol { IsIndexer: false } or IFieldSymbol)
            .Select(m => m.Name);
        var isList = type.AllInterfaces.Any(i => i.OriginalDefinition.ToDisplayString() == "System.Collections.Generic.IEnumerable<T>");
        return isList && type.SpecialType != SpecialType.System_String
            ? own.Concat(["Count", "Any", "All", "Where", "Select", "Sum", "Distinct", "Contains"]).Distinct()
            : own.Distinct();
    }

    private string UnknownName(string name, MethodDeclarationSyntax method, RuleExpression expr)
    {
        // The row's figures, every one (the generated method has a parameter only for those the expression names), and Base.
        var figures = Locate(def, expr).Row?.Figures.Select(f => f.Name).ToList() ?? [];
        var candidates = new List<(string Name, string Shown)>();
        candidates.AddRange(figures.Select(n => (n, n)));
        candidates.AddRange(method.ParameterList.Parameters.Select(p => p.Identifier.ValueText).Select(n => (n, n)));
        // The names of the lambdas around it (s => s.Amount).
        foreach (var lambda in method.DescendantNodes().OfType<SimpleLambdaExpressionSyntax>())
            candidates.Add((lambda.Parameter.Identifier.ValueText, lambda.Parameter.Identifier.ValueText));
        candidates.AddRange(Helpers.Value.Select(h => (h, h)));
        candidates.AddRange(ModelNames.Value);
        var message = $"unknown name '{name}'";
        var suggestion = Suggest(name, candidates);
        if (suggestion.Length == 0 && figures.Count > 0) return $"{message}; the row's figures here are {string.Join(", ", figures)}";
        return message + suggestion;
    }

    private static string WrongArgumentCount(InvocationExpressionSyntax call)
    {
        var name = call.Expression is SimpleNameSyntax s ? s.Identifier.ValueText : call.Expression.ToString();
        var given = call.ArgumentList.Arguments.Count;
        var signatures = typeof(RuleScope).GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic)
            .Where(m => m.IsFamily && m.Name == name).Select(Signature).ToList();
        return signatures.Count == 0
            ? $"{call.Expression} does not take {given} value(s)"
            : $"{name} does not take {given} value(s): {string.Join(" or ", signatures)}";
    }

    /// <summary>"Per(amount, unit)", "Tiers(amount, tiers...)", "Prizes(points, [match], [prizes], ...)".</summary>
    private static string Signature(MethodInfo m) =>
        $"{m.Name}({string.Join(", ", m.GetParameters().Select(p =>
            p.IsDefined(typeof(ParamArrayAttribute)) || p.GetCustomAttributes().Any(a => a.GetType().Name == "ParamCollectionAttribute") ? p.Name + "..."
            : p.IsOptional ? $"[{p.Name}]" : p.Name))})";

    /// <summary>The helpers an expression may call: RuleScope's protected methods the sandbox allows.</summary>
    private static readonly Lazy<string[]> Helpers = new(() =>
        typeof(RuleScope).GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic)
            .Where(m => m.IsFamily && RuleSandbox.IsHelper(m.Name)).Select(m => m.Name).Distinct().Order(StringComparer.Ordinal).ToArray());

    /// <summary>
    /// The model's names an expression may write without a receiver: Work, Claimant, the enums (and the values of those
    /// imported whole), and Work's and Claimant's members shown with their receiver (BoxOfficeTotl: did you mean Work.BoxOfficeTotal?).
    /// </summary>
    private static readonly Lazy<(string Name, string Shown)[]> ModelNames = new(() =>
    {
        var names = new List<(string, string)> { ("Work", "Work"), ("Claimant", "Claimant") };
        var model = typeof(Model.Work).Assembly.GetTypes().Where(t => t.IsPublic && t.Namespace == typeof(Model.Work).Namespace).ToList();
        foreach (var e in model.Where(t => t.IsEnum))
        {
            names.Add((e.Name, e.Name));
            if (e == typeof(Model.FestivalMatch) || e == typeof(Model.PrizeMatch) || e == typeof(Model.Role))
                names.AddRange(Enum.GetNames(e).Select(v => (v, v)));
        }
        foreach (var (receiver, type) in new[] { ("Work", typeof(Model.Work)), ("Claimant", typeof(Model.RoleInput)) })
            names.AddRange(type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => (p.Name, $"{receiver}.{p.Name}")));
        return names.ToArray();
    });

    /// <summary>"; did you mean X?" (or "X or Y?") for the nearest candidates by edit distance, or "" when none is near.</summary>
    internal static string Suggest(string word, IEnumerable<(string Name, string Shown)> candidates)
    {
        var ranked = candidates.Where(c => c.Shown != word)
            .Select(c => (c.Shown, Distance: YamlKeys.Distance(word.ToLowerInvariant(), c.Name.ToLowerInvariant())))
            .Where(x => x.Distance <= Math.Max(1, word.Length / 3)).ToList();
        if (ranked.Count == 0) return "";
        var best = ranked.Min(x => x.Distance);
        var shown = ranked.Where(x => x.Distance == best).Select(x => x.Shown).Distinct().Take(3).ToList();
        return $"; did you mean {string.Join(" or ", shown)}?";
    }

    /// <summary>A C# type as an author knows it: "a number (decimal)", "true or false (bool)", "text (string)", "a date", "a list of FestivalEntry".</summary>
    internal static string Kind(string type)
    {
        var nullable = type.EndsWith('?');
        var t = nullable ? type[..^1] : type;
        t = t.Replace("ContributiAutomatici.Engine.Model.", "").Replace("System.Collections.Generic.", "").Replace("System.", "");
        var kind = t switch
        {
            "decimal" => "a number (decimal)",
            "int" or "long" => $"a whole number ({t})",
            "double" or "float" => $"a {t}",
            "bool" => "true or false (bool)",
            "string" => "text (string)",
            "DateOnly" => "a date",
            "TimeOnly" => "a time of day",
            "<null>" => "null",
            _ when ListOf().Match(t) is { Success: true } m => $"a list of {m.Groups[1].Value}",
            _ => t,
        };
        return nullable ? kind + " that may be missing" : kind;
    }

    /// <summary>A hint when a double crept in: decimal numbers are written with m.</summary>
    private static string DoubleHint(string types) =>
        types.Contains("double", StringComparison.Ordinal) ? "; write numbers with a fraction as decimals: 0.5m, not 0.5" : "";

    /// <summary>The compiler's message without its jargon: no codes, no 'using directive', no 'current context'.</summary>
    internal static string Plain(string message)
    {
        var m = Jargon().Replace(message, "");
        m = m.Replace("does not contain a definition for", "has no member", StringComparison.Ordinal)
             .Replace(" does not exist in the current context", " is not known", StringComparison.Ordinal)
             .Replace(" in the current context", "", StringComparison.Ordinal)
             .Replace("The type or namespace name", "The name", StringComparison.Ordinal)
             .Replace("Cannot implicitly convert type", "Cannot use", StringComparison.Ordinal);
        return m.TrimEnd(' ', '.');
    }

    [GeneratedRegex(@"\s*(\((are you missing|is this|did you)[^)]*\)|and no accessible extension method[^.]*could be found|CS\d{4}:?)")]
    private static partial Regex Jargon();

    [GeneratedRegex(@"cannot convert from '([^']+)' to '([^']+)'")]
    private static partial Regex ConvertTypes();

    [GeneratedRegex(@"convert type '([^']+)' to '([^']+)'")]
    private static partial Regex ImplicitTypes();

    [GeneratedRegex(@"Operator '([^']+)' cannot be applied to operands of type '([^']+)' and '([^']+)'")]
    private static partial Regex BinaryTypes();

    [GeneratedRegex(@"Operator '([^']+)' cannot be applied to operand of type '([^']+)'")]
    private static partial Regex UnaryTypes();

    [GeneratedRegex(@"^(?:IReadOnlyList|IEnumerable|List|IList)<(.+)>$")]
    private static partial Regex ListOf();
}
