using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Scoring;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>One role column of one row, as compiled: index into the points/status arrays.</summary>
public sealed record CellInfo(int Index, RowDefinition Row, CellDefinition Cell, int[] BaseCells, string QuotaId,
    SectionDefinition Section, TableDefinition Table)
{
    public Role Role => Cell.Role;
}

/// <summary>Where a rule set's load time went (elapsed since the start of its compilation).</summary>
public sealed class CompileTimings
{
    /// <summary>Expressions parsed alone and syntax-checked, source generated.</summary>
    public TimeSpan Checked { get; set; }
    /// <summary>Roslyn compiled and emitted (zero when taken from the cache).</summary>
    public TimeSpan Emitted { get; set; }
    /// <summary>Symbols of every expression checked against the sandbox (zero when taken from the cache).</summary>
    public TimeSpan Sandboxed { get; set; }
    /// <summary>Loaded and ready.</summary>
    public TimeSpan Total { get; set; }
}

/// <summary>How a rule set came to be loaded: compiled now, or taken from the cache.</summary>
public enum CompileSource { Compiled, Cache }

/// <summary>Options of the rule compiler.</summary>
public sealed record RuleCompileOptions
{
    /// <summary>
    /// Folder of compiled rule assemblies, keyed by content hash; null disables the cache. It must be private to the
    /// user (created 0700; a folder others can write is not used) and every assembly in it is checked before loading.
    /// </summary>
    public string? CacheDirectory { get; init; } = DefaultCacheDirectory;

    /// <summary>$CONTRIBUTI_RULES_CACHE, else the user's cache folder (~/.cache/contributi-automatici/rules-cache).</summary>
    public static string? DefaultCacheDirectory => RuleCache.DefaultDirectory();

    /// <summary>Where warnings go: a cache folder not used, a cached assembly discarded. Default: nowhere.</summary>
    public Action<string> Warn { get; init; } = _ => { };
}

/// <summary>
/// Turns a parsed rule set into one C# class (one method per condition and per points expression,
/// with <c>#line</c> directives pointing at the rule files), checks it against the sandbox, compiles
/// it as ONE Roslyn compilation and loads it. The emitted assembly is cached by content hash, so an
/// unchanged rule set starts without Roslyn at all.
/// </summary>
public static class RuleCompiler
{
    private const string Namespace = RuleSandbox.GeneratedNamespace;

    public static CompiledRuleSet? Compile(RuleSetDefinition def, RuleCompileOptions options, List<RuleError> errors)
    {
        var firstError = errors.Count;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var lists = new ListCatalog(def.Lists);
        var cells = Flatten(def);
        var className = "RuleSet_" + new string(def.Id.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
        var cacheKey = CacheKey(def);
        var cache = options.CacheDirectory is { } dir ? RuleCache.Open(dir, options.Warn) : null;
        var cacheFile = $"{def.Id}-{cacheKey}.dll";
        var assemblyName = AssemblyName(def);

        // Every expression is parsed on its own first: a rule is one expression, never code that
        // closes the generated method and opens another. One refused by the syntax check is left out of the
        // generated class (its method returns default), so the symbol check still reports every other one.
        var exprs = new List<ExpressionSite>();
        CollectExpressions(def, cells, exprs);
        var cellExpressions = cells.SelectMany(c => new[] { c.Cell.Points, c.Cell.When }).OfType<RuleExpression>()
            .ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var site in exprs)
        {
            var e = site.Expr;
            if (RuleSandbox.CheckSize(e.Text) is { } size)
            {
                errors.Add(new RuleError(e.Location.File, e.LineOf(size.Line), size.Message));
                site.Refused = true;
                continue;
            }
            var parsed = SyntaxFactory.ParseExpression(e.Text);
            var diag = parsed.GetDiagnostics().FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
            if (diag is not null)
                errors.Add(new RuleError(e.Location.File, e.LineOf(diag.Location.GetLineSpan().StartLinePosition.Line),
                    "not a valid C# expression: " + diag.GetMessage()));
            else if ((RuleSandbox.CheckDirectives(e.Text) ?? RuleSandbox.CheckSyntax(parsed, mayReadClaimant: cellExpressions.Contains(e))) is { } bad)
                errors.Add(new RuleError(e.Location.File, e.LineOf(bad.Line), bad.Message));
            else continue;
            site.Refused = true;
        }
        var syntaxRefused = errors.Count > firstError;

        var source = Generate(def, cells, exprs, className);
        var timings = new CompileTimings { Checked = sw.Elapsed };
        Assembly assembly;
        CompileSource from;
        if (syntaxRefused)
        {
            // Bind what is left for its symbol errors, then refuse the whole rule set.
            Emit(def, source, className, lists, exprs, errors, timings, sw);
            return null;
        }
        if (cache?.TryRead(cacheFile, assemblyName) is { } cached)
        {
            assembly = Load(def, cached);
            from = CompileSource.Cache;
        }
        else
        {
            var image = Emit(def, source, className, lists, exprs, errors, timings, sw);
            if (image is null || errors.Count > firstError || syntaxRefused) return null;
            if (cache is not null)
            {
                // What is cached must pass the check it will meet when read back.
                var problems = RuleAssemblyVerifier.Check(image, assemblyName);
                if (problems.Count == 0) cache.TryWrite(cacheFile, image);
                else options.Warn($"rule set {def.Id} not cached: its assembly does not pass the check ({string.Join("; ", problems)})");
            }
            assembly = Load(def, image);
            from = CompileSource.Compiled;
        }
        var type = assembly.GetType($"{Namespace}.{className}", throwOnError: true)!;
        var factory = type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<RuleScope>>();
        timings.Total = sw.Elapsed;
        return new CompiledRuleSet(def, lists, cells, exprs.Select(x => x.Describe(def)).ToArray(), factory, from, timings);
    }

    private static List<CellInfo> Flatten(RuleSetDefinition def)
    {
        var cells = new List<CellInfo>();
        foreach (var table in def.Tables)
            foreach (var section in table.Sections)
                foreach (var row in section.Rows)
                    foreach (var cell in row.Cells)
                    {
                        var baseRole = row.BaseRole ?? cell.Role;
                        var bases = row.BasePatterns.Count == 0
                            ? []
                            : cells.Where(c => c.Role == baseRole && row.BasePatterns.Any(p => RuleFileParser.Matches(p, c.Row.Id)))
                                .Select(c => c.Index).ToArray();
                        cells.Add(new CellInfo(cells.Count, row, cell, bases, row.QuotaId, section, table));
                    }
        return cells;
    }

    /// <summary>One rule expression of the rule set and the method it compiles to.</summary>
    private sealed class ExpressionSite(RuleExpression expr, string method, string returnType, string parameters, bool whole, string what)
    {
        public RuleExpression Expr { get; } = expr;
        public string Method { get; } = method;
        public string ReturnType { get; } = returnType;
        public string Params { get; } = parameters;
        public bool Whole { get; } = whole;
        /// <summary>Refused by the syntax check: not compiled.</summary>
        public bool Refused { get; set; }
        /// <summary>"row T1.A.1 (producer) points at dm-2021/tabella-1.yaml:57", the file relative to the rules folder.</summary>
        public string Describe(RuleSetDefinition def) =>
            $"{what} at {Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(def.Directory)) ?? "", Path.GetFullPath(Expr.Location.File)).Replace('\\', '/')}:{Expr.Location.Line + Expr.LineOffset}";
    }

    private static void CollectExpressions(RuleSetDefinition def, List<CellInfo> cells, List<ExpressionSite> exprs)
    {
        for (var t = 0; t < def.Tables.Count; t++)
        {
            var table = def.Tables[t];
            if (table.Applies is { } a) exprs.Add(new(a, $"T{t}", "bool", "", false, $"table {table.Id} 'applies'"));
            for (var s = 0; s < table.Sections.Count; s++)
                if (table.Sections[s].When is { } w) exprs.Add(new(w, $"S{t}_{s}", "bool", "", false, $"section {table.Id}.{table.Sections[s].Id} 'when'"));
        }
        var rows = cells.Select(c => c.Row).Distinct().ToList();
        for (var r = 0; r < rows.Count; r++)
            if (rows[r].When is { } w) exprs.Add(new(w, $"W{r}", "bool", FigureParameters(rows[r].Figures, ""), false, $"row {rows[r].Id} 'when'"));
        foreach (var c in cells)
        {
            var role = RoleNames.Key(c.Role);
            var figures = c.Row.Figures;
            if (c.Cell.When is { } w) exprs.Add(new(w, $"C{c.Index}", "bool", FigureParameters(figures, ""), false, $"row {c.Row.Id} ({role}) 'when'"));
            exprs.Add(new(c.Cell.Points, $"P{c.Index}", "decimal", FigureParameters(figures, "decimal Base"), c.Row.WholePoints, $"row {c.Row.Id} ({role}) points"));
            // An overlay's figures inside its window: the same expression, with those figures, on the entries dated inside.
            if (c.Row.Windowed is { } wf)
                exprs.Add(new(c.Cell.Points, $"P{c.Index}w", "decimal", FigureParameters(Merge(figures, wf.Figures), "decimal Base"), c.Row.WholePoints,
                    $"row {c.Row.Id} ({role}) points inside the {wf.OverlayId} window"));
        }
    }

    /// <summary>
    /// A row's figures as parameters with constant defaults (<c>decimal eur_per_point = 5000m</c>): the expression
    /// reads them by name, every call passes the defaults, and the JIT sees constants.
    /// </summary>
    private static string FigureParameters(IReadOnlyList<Figure> figures, string first) =>
        string.Join(", ", (first.Length > 0 ? new[] { first } : []).Concat(
            figures.Select(f => $"decimal {f.Name} = {f.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}m")));

    /// <summary>The row's figures with an overlay's replacing those of the same name.</summary>
    internal static IReadOnlyList<Figure> Merge(IReadOnlyList<Figure> figures, IReadOnlyList<Figure> patch) =>
        figures.Select(f => patch.FirstOrDefault(p => p.Name == f.Name) ?? f).ToList();

    private static string Generate(RuleSetDefinition def, List<CellInfo> cells, List<ExpressionSite> exprs, string className)
    {
        var sb = new StringBuilder();
        sb.AppendLine("// <auto-generated/> from the rule files of " + def.Id + ", content hash " + def.ContentHash);
        sb.AppendLine("#nullable enable");
        sb.AppendLine("#pragma warning disable");
        sb.AppendLine("using System;");
        sb.AppendLine("using System.Linq;");
        sb.AppendLine("using ContributiAutomatici.Engine.Model;");
        sb.AppendLine("using static ContributiAutomatici.Engine.Model.FestivalMatch;");
        sb.AppendLine("using static ContributiAutomatici.Engine.Model.PrizeMatch;");
        sb.AppendLine("using static ContributiAutomatici.Engine.Model.Role;");
        sb.AppendLine($"namespace {Namespace};");
        sb.AppendLine($"public sealed class {className} : ContributiAutomatici.Engine.Scoring.RuleScope");
        sb.AppendLine("{");
        sb.AppendLine($"    public static ContributiAutomatici.Engine.Scoring.RuleScope Create() => new {className}();");
        for (var k = 0; k < exprs.Count; k++)
        {
            var x = exprs[k];
            var e = x.Expr;
            // The index of the expression being evaluated, so an evaluation error names its row, role and line.
            sb.AppendLine($"    private {x.ReturnType} {x.Method}({x.Params})");
            sb.AppendLine("    {");
            sb.AppendLine($"        CurrentExpression = {k};");
            if (x.Refused)
            {
                sb.AppendLine("        return default;");
                sb.AppendLine("    }");
                continue;
            }
            sb.AppendLine("        return");
            if (x.Whole) sb.AppendLine("        Math.Floor(");
            sb.AppendLine($"#line {e.Location.Line + e.LineOffset} \"{e.Location.File.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"");
            sb.AppendLine("(" + e.Text + "\n)");
            sb.AppendLine("#line default");
            if (x.Whole) sb.Append(')');
            sb.AppendLine("        ;");
            sb.AppendLine("    }");
        }

        // Rows whose figures an overlay patches within its window: the points are the expression's on the entries dated
        // outside the window, with the row's figures, plus the same expression's on those dated inside, with the overlay's.
        foreach (var c in cells.Where(c => c.Row.Windowed is not null))
        {
            var w = c.Row.Windowed!;
            sb.AppendLine($"    private decimal P{c.Index}s(decimal Base) => Windowed(new DateOnly({w.From.Year}, {w.From.Month}, {w.From.Day}), " +
                          $"new DateOnly({w.To.Year}, {w.To.Month}, {w.To.Day}), () => P{c.Index}(Base), () => P{c.Index}w(Base));");
        }

        var has = exprs.Select(x => x.Method).ToHashSet();
        // The points expression of each cell, so adding up its base (art. 9.5 shares) is blamed on that cell too.
        var pointsSite = cells.ToDictionary(c => c.Index, c => exprs.FindIndex(x => x.Method == $"P{c.Index}"));
        var rows = cells.Select(c => c.Row).Distinct().ToList();
        sb.AppendLine("    public override void Evaluate(decimal[] p, byte[] s, int m)");
        sb.AppendLine("    {");
        sb.AppendLine("        bool ta, sa, rw;");
        foreach (var (table, t) in def.Tables.Select((x, i) => (x, i)))
        {
            sb.AppendLine($"        ta = {(has.Contains($"T{t}") ? $"T{t}()" : "true")};");
            foreach (var (section, si) in table.Sections.Select((x, i) => (x, i)))
            {
                sb.AppendLine($"        sa = ta && {(has.Contains($"S{t}_{si}") ? $"S{t}_{si}()" : "true")};");
                foreach (var row in section.Rows)
                {
                    var r = rows.IndexOf(row);
                    var rowCells = cells.Where(c => c.Row == row).ToList();
                    if (rowCells.Count == 0) continue;
                    var mask = rowCells.Aggregate(0, (acc, c) => acc | (1 << (int)c.Role));
                    sb.AppendLine($"        if ((m & {mask}) != 0)");
                    sb.AppendLine("        {");
                    sb.AppendLine($"            CurrentWindow = {Window(row)};");
                    sb.AppendLine($"            rw = sa && {(has.Contains($"W{r}") ? $"W{r}()" : "true")};");
                    foreach (var c in rowCells)
                    {
                        var i = c.Index;
                        var cond = has.Contains($"C{i}") ? $"!C{i}()" : "false";
                        var baseSum = c.BaseCells.Length == 0 ? "0m" : string.Join(" + ", c.BaseCells.Select(b => $"p[{b}]"));
                        sb.AppendLine($"            if ((m & {1 << (int)c.Role}) != 0) {{ CurrentCell = {i}; if (!ta) s[{i}] = 2; else if (!sa) s[{i}] = 3; else if (!rw) s[{i}] = 4; " +
                                      $"else {{ Use({(int)c.Role}); if ({cond}) s[{i}] = 5; else {{ CurrentExpression = {pointsSite[i]}; p[{i}] = P{i}{(c.Row.Windowed is null ? "" : "s")}({baseSum}); s[{i}] = 1; }} }} }}");
                    }
                    sb.AppendLine("        }");
                }
            }
        }
        sb.AppendLine("    }");

        sb.AppendLine("    public override decimal EvaluateCell(int cell, decimal b)");
        sb.AppendLine("    {");
        sb.AppendLine("        switch (cell)");
        sb.AppendLine("        {");
        foreach (var c in cells)
            sb.AppendLine($"            case {c.Index}: Use({(int)c.Role}); CurrentWindow = {Window(c.Row)}; return P{c.Index}{(c.Row.Windowed is null ? "" : "s")}(b);");
        sb.AppendLine("            default: throw new ArgumentOutOfRangeException(nameof(cell));");
        sb.AppendLine("        }");
        sb.AppendLine("    }");

        sb.AppendLine("    public override void DescribeInputs(int cell, System.Collections.Generic.List<System.Collections.Generic.KeyValuePair<string, string>> inputs)");
        sb.AppendLine("    {");
        sb.AppendLine("        switch (cell)");
        sb.AppendLine("        {");
        // Refused expressions are not compiled, nor parsed again here (one may be too deep for the parser).
        var refused = exprs.Where(x => x.Refused).Select(x => x.Expr).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var c in cells)
        {
            if (refused.Contains(c.Row.When) || refused.Contains(c.Cell.When) || refused.Contains(c.Cell.Points)) continue;
            var reads = ReadPaths(c.Row.When).Concat(ReadPaths(c.Cell.When)).Concat(ReadPaths(c.Cell.Points)).Distinct().ToList();
            if (reads.Count == 0) continue;
            sb.Append($"            case {c.Index}: Use({(int)c.Role}); ");
            foreach (var path in reads) sb.Append($"inputs.Add(new(\"{path}\", Fmt({path}))); ");
            sb.AppendLine("break;");
        }
        sb.AppendLine("        }");
        sb.AppendLine("    }");
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static string Window(RowDefinition row) => row.Window is { } w
        ? $"(new DateOnly({w.From.Year}, {w.From.Month}, {w.From.Day}), new DateOnly({w.To.Year}, {w.To.Month}, {w.To.Day}))"
        : "null";

    /// <summary>The model values an expression reads: the longest member chains rooted at Work or Claimant.</summary>
    private static IEnumerable<string> ReadPaths(RuleExpression? e)
    {
        if (e is null) yield break;
        foreach (var ma in SyntaxFactory.ParseExpression(e.Text).DescendantNodesAndSelf().OfType<MemberAccessExpressionSyntax>())
        {
            if (ma.Expression is not IdentifierNameSyntax { Identifier.ValueText: "Work" or "Claimant" }) continue;
            SyntaxNode top = ma;
            while (top.Parent is MemberAccessExpressionSyntax up && up.Expression == top && up.Parent is not InvocationExpressionSyntax)
                top = up;
            if (top.Parent is InvocationExpressionSyntax call && call.Expression == top) continue; // a method, not a value
            yield return top.ToString();
        }
    }

    private static byte[]? Emit(RuleSetDefinition def, string source, string className, ListCatalog lists, List<ExpressionSite> sites,
        List<RuleError> errors, CompileTimings timings, System.Diagnostics.Stopwatch sw)
    {
        var byMethod = sites.ToDictionary(x => x.Method, x => x.Expr);
        // An error inside an expression whose value lines are not the file's lines (a "\n" escape) is reported at the
        // expression's own line, never at a line the author did not write it on.
        RuleError At(SyntaxNode? node, RuleError e) =>
            node?.FirstAncestorOrSelf<MethodDeclarationSyntax>() is { } m && byMethod.TryGetValue(m.Identifier.ValueText, out var x) && !x.FileLines
                ? e with { Line = x.LineOf(0) }
                : e;
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: $"{def.Id}.generated.cs");
        var compilation = CSharpCompilation.Create(
            AssemblyName(def),
            [tree], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: false, deterministic: true,
                checkOverflow: true));

        // Emit first: it binds every method once and reports every compile error. The image is only
        // loaded after the sandbox below has passed.
        using var ms = new MemoryStream();
        var result = compilation.Emit(ms);
        timings.Emitted = sw.Elapsed;
        var before = errors.Count;
        var generatedErrors = false;
        var broken = new List<TextSpan>();
        foreach (var d in result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            var span = d.Location.GetMappedLineSpan();
            if (span.HasMappedPath)
            {
                errors.Add(At(tree.GetRoot().FindNode(d.Location.SourceSpan), new RuleError(span.Path, span.StartLinePosition.Line + 1, d.GetMessage())));
                broken.Add(d.Location.SourceSpan);
            }
            else generatedErrors = true;
        }
        if (generatedErrors && errors.Count == before)
        {
            // Not reachable from a rule that passed the syntax check; if it were, the rule set is refused without
            // dumping the generated source.
            var first = result.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error);
            errors.Add(new RuleError(Path.Combine(def.Directory, RuleFileParser.ManifestName), 1,
                $"the rule set does not compile ({first.Id}: {first.GetMessage()})"));
            return null;
        }

        var model = compilation.GetSemanticModel(tree);
        var generated = compilation.GetTypeByMetadataName($"{Namespace}.{className}")!;
        foreach (var method in tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>())
        {
            if (method.Body?.Statements is not [ExpressionStatementSyntax, ReturnStatementSyntax { Expression: { } body }]) continue;
            // Each rule expression is the parenthesized expression under its #line directive.
            var ruleExpr = body is InvocationExpressionSyntax { ArgumentList.Arguments: [var only] } floor &&
                           floor.Expression.ToString() == "Math.Floor" ? only.Expression : body;
            // An expression that does not compile has its error already; every other one is checked against the
            // sandbox, so one load reports every refusal.
            if (ruleExpr is ParenthesizedExpressionSyntax paren && !broken.Any(b => paren.Span.IntersectsWith(b)))
            {
                var found = new List<RuleError>();
                RuleSandbox.CheckSymbols(model, paren.Expression, generated, lists, found);
                errors.AddRange(found.Select(e => At(method, e)));
            }
        }
        timings.Sandboxed = sw.Elapsed;
        return errors.Count > before ? null : ms.ToArray();
    }

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        string[] wanted = ["System.Private.CoreLib", "System.Runtime", "System.Linq", "System.Collections", "System.Memory"];
        return tpa.Where(p => wanted.Contains(Path.GetFileNameWithoutExtension(p)))
            .Append(typeof(RuleScope).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    });

    private static Assembly Load(RuleSetDefinition def, byte[] image) =>
        // Collectible: a rule set replaced by a reload is unloaded once no call uses it any more.
        new AssemblyLoadContext($"rules:{def.Id}:{def.ContentHash[..12]}", isCollectible: true).LoadFromStream(new MemoryStream(image));

    /// <summary>The cache key: the rules' content and the engine build that compiled them.</summary>
    private static string CacheKey(RuleSetDefinition def)
    {
        var engine = typeof(RuleScope).Assembly.ManifestModule.ModuleVersionId.ToString("N");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(def.ContentHash + "/" + engine)))[..32];
    }

    private static string AssemblyName(RuleSetDefinition def) => $"ContributiAutomatici.Rules.{def.Id}.{def.ContentHash[..12]}";
}
