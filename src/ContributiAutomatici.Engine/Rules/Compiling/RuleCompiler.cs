using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Compiling;

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

    /// <summary>
    /// Read-only folder of rule assemblies compiled when the program was published (its rules-cache folder), tried when
    /// <see cref="CacheDirectory"/> has no image of the rule set: the program as shipped starts on its own rules without
    /// Roslyn. Same key and checks as the cache; never written. Null: none.
    /// </summary>
    public string? ShippedDirectory { get; init; } = DefaultShippedDirectory;

    /// <summary>rules-cache beside the program.</summary>
    public static string DefaultShippedDirectory => Path.Combine(AppContext.BaseDirectory, "rules-cache");

    /// <summary>
    /// Emit the figures as constants of the compiled class (as before the figure table) instead of reading them from the table
    /// the class is created with: the benchmark compares the two side by side. An image with baked figures is keyed by the
    /// content hash, so an edited figure is compiled again. Default: false.
    /// </summary>
    public bool BakeFigures { get; init; }

    /// <summary>
    /// Load the compiled assembly into a collectible load context of its own, not shared by content, unloaded when the rule set
    /// is let go (<see cref="RuleCompiler.Unload"/>): what-if reforms, compiled per request and kept a while. Default: false.
    /// </summary>
    public bool Collectible { get; init; }

    /// <summary>
    /// Where a rule set found in no cache gets its image: called with the definition, its assembly name, the error list and
    /// the compilation in this process (<c>emitHere</c>, Roslyn), it returns the image (or null with errors added). Null
    /// (default): compiled here. The server's reforms go to a worker process (the server's <c>ReformWorkers</c>), which never
    /// loads Roslyn into the server; the worker keeps the image <c>emitHere</c> made to send it back.
    /// </summary>
    public Func<RuleSetDefinition, string, List<RuleError>, Func<byte[]?>, byte[]?>? Emit { get; init; }

    /// <summary>
    /// The what-if reforms a catalog keeps built (its ReformCache's capacity). Default 2: a compiled reform kept holds about
    /// 5 MiB of the runtime's memory (its class, its JIT-compiled code), and two (law against reform A against reform B) keep
    /// 200 distinct reforms in a row within 50 MiB of the server's start (RESULTS.md (c')); one evicted is compiled again.
    /// </summary>
    public int ReformCacheSize { get; init; } = DefaultReformCacheSize;

    /// <summary>The default of <see cref="ReformCacheSize"/>.</summary>
    public const int DefaultReformCacheSize = 2;

    /// <summary>Where warnings go: a cache folder not used, a cached assembly discarded. Default: nowhere.</summary>
    public Action<string> Warn { get; init; } = _ => { };
}

/// <summary>
/// Turns a parsed rule set into one C# class (one method per condition and per points expression,
/// with <c>#line</c> directives pointing at the rule files), checks it against the sandbox, compiles
/// it as ONE Roslyn compilation and loads it. The emitted assembly is cached by content hash (and engine build), and
/// the cache is tried first: an unchanged rule set starts without Roslyn at all, not one Microsoft.CodeAnalysis
/// assembly loaded. Everything that touches Roslyn is in <see cref="RoslynEmitter"/>, called on a miss only; keep
/// every Roslyn type (fields, signatures, lambdas, method bodies) out of this class.
/// </summary>
public static class RuleCompiler
{
    internal const string Namespace = RuleSandbox.GeneratedNamespace;

    public static CompiledRuleSet? Compile(RuleSetDefinition def, RuleCompileOptions options, List<RuleError> errors) =>
        Compile(def, options, errors, options.CacheDirectory is { } dir ? RuleCache.Open(dir, options.Warn) : null,
            options.ShippedDirectory is { } shippedDir ? RuleCache.OpenShipped(shippedDir, options.Warn) : null);

    /// <summary>As <see cref="Compile(RuleSetDefinition, RuleCompileOptions, List{RuleError})"/>, with the caches of the options already opened (once per catalog).</summary>
    internal static CompiledRuleSet? Compile(RuleSetDefinition def, RuleCompileOptions options, List<RuleError> errors, RuleCache? cache, RuleCache? shippedCache)
    {
        var firstError = errors.Count;
        CheckQuantityCycles(def, errors);
        if (errors.Count > firstError) return null;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var lists = new ListCatalog(def.Lists);
        var plan = RulePlan.Of(def);
        var cells = plan.CellList;
        var className = ClassName(def);
        // The figures are not in the image: its class reads them from the table it is created with, so the image is keyed by
        // the rule set's shape (everything but the figures' values), and an edit of a figure alone starts from the cached
        // image, without Roslyn. BakeFigures (for the benchmark's side-by-side) emits them as constants instead.
        var table = plan.FigureValues();
        var cacheKey = CacheKey(def, options.BakeFigures);
        var cacheFile = $"{def.Id}-{cacheKey}.dll";
        var assemblyName = AssemblyName(def, cacheKey);
        var exprs = new List<ExpressionSite>();
        CollectExpressions(plan, exprs);
        var timings = new CompileTimings();

        // The cache first: an assembly there was emitted from rule files of this content hash by this engine build, and
        // passed every check then (nothing refused is ever cached); it is loaded only if it passes the verifier now.
        // A hit touches nothing of Roslyn: RoslynEmitter, the only code here that does, is not even JIT-compiled.
        // Then the images shipped with the program (compiled at publish, same key, same checks).
        Assembly assembly;
        CompileSource from;
        if (cache?.TryRead(cacheFile, assemblyName) is { } cached)
        {
            timings.Checked = sw.Elapsed;
            assembly = Load(def, cacheKey, cached);
            from = CompileSource.Cache;
        }
        else if (shippedCache?.TryRead(cacheFile, assemblyName) is { } shipped)
        {
            timings.Checked = sw.Elapsed;
            assembly = Load(def, cacheKey, shipped);
            from = CompileSource.Shipped;
        }
        else
        {
            byte[]? EmitHere() => RoslynEmitter.Build(plan, exprs, className, assemblyName, options.BakeFigures ? table : null, lists, errors, timings, sw);
            var image = options.Emit is { } emit ? emit(def, assemblyName, errors, EmitHere) : EmitHere();
            if (image is null || errors.Count > firstError) return null;
            if (cache is not null)
            {
                // What is cached must pass the check it will meet when read back.
                var problems = RuleAssemblyVerifier.Check(image, assemblyName);
                if (problems.Count == 0) cache.TryWrite(cacheFile, image);
                else options.Warn($"rule set {def.Id} not cached: its assembly does not pass the check ({string.Join("; ", problems)})");
            }
            assembly = options.Collectible
                ? new AssemblyLoadContext($"reform:{def.Id}:{cacheKey[..12]}", isCollectible: true).LoadFromStream(new MemoryStream(image))
                : Load(def, cacheKey, image);
            from = CompileSource.Compiled;
            Interlocked.Increment(ref _compilations);
            if (_counter.Value is { } counter) Interlocked.Increment(ref counter.Count);
        }
        var type = assembly.GetType($"{Namespace}.{className}", throwOnError: true)!;
        var create = type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<decimal[], RuleScope>>();
        Func<RuleScope> factory = () => create(table);
        timings.Total = sw.Elapsed;
        return new CompiledRuleSet(def, lists, plan, exprs.Select(x => x.Describe(def)).ToArray(), factory, from, timings)
        {
            Create = options.BakeFigures ? null : create,
        };
    }

    private static long _compilations;

    /// <summary>Rule sets compiled by Roslyn in this process (not taken from a cache): what a test or a metric reads.</summary>
    public static long Compilations => Interlocked.Read(ref _compilations);

    private static readonly AsyncLocal<CompilationCounter?> _counter = new();

    /// <summary>
    /// Counts the rule sets Roslyn compiles from here on in this flow of execution only (this thread and the tasks started
    /// from it), until disposed: a test asks whether its own call compiled, whatever else the process compiles meanwhile.
    /// </summary>
    public static CompilationCounter CountCompilations() => new(_counter);

    /// <summary>The rule sets compiled in one flow of execution, from <see cref="CountCompilations"/> until disposed.</summary>
    public sealed class CompilationCounter : IDisposable
    {
        private readonly AsyncLocal<CompilationCounter?> _slot;
        private readonly CompilationCounter? _outer;
        internal long Count;

        internal CompilationCounter(AsyncLocal<CompilationCounter?> slot)
        {
            _slot = slot;
            _outer = slot.Value;
            slot.Value = this;
        }

        /// <summary>Rule sets compiled so far in this flow.</summary>
        public long Compilations => Interlocked.Read(ref Count);

        /// <summary>Stops counting: the flow's counter is the one before this again.</summary>
        public void Dispose() => _slot.Value = _outer;
    }

    /// <summary>
    /// Starts Roslyn in this process ahead of a compilation that is coming (<see cref="RoslynEmitter.WarmUp"/>): a reform compiler
    /// worker does it as it starts, while the server is still reading the rule files it will send. A failure is the next
    /// compilation's to report.
    /// </summary>
    public static void WarmUp()
    {
        try
        {
            RoslynEmitter.WarmUp();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            System.Diagnostics.Trace.TraceWarning($"the rule compiler's warm-up failed: {ex.Message}");
        }
    }

    /// <summary>
    /// <paramref name="def"/>, which differs from <paramref name="law"/>'s definition in figure values, list entries, quotas and
    /// allocation figures only (a figure-only reform), scored by the law's compiled class created with <paramref name="def"/>'s
    /// figure table: nothing compiled, nothing of Roslyn touched. Throws when the two do not have the same figure slots (a change
    /// of shape must be compiled).
    /// </summary>
    public static CompiledRuleSet Refigure(CompiledRuleSet law, RuleSetDefinition def)
    {
        var create = law.Create ?? throw new InvalidOperationException($"rule set {law.Id} has its figures baked in: it cannot take another figure table");
        var plan = RulePlan.Of(def);
        if (!plan.SameShape(law.Plan))
            throw new InvalidOperationException($"{def.Id} does not have the shape of {law.Id}: it must be compiled");
        var table = plan.FigureValues();
        var lists = ReferenceEquals(def.Lists, law.Definition.Lists) ? law.Lists : new ListCatalog(def.Lists);
        return law.WithDefinition(def, lists, plan, () => create(table));
    }

    /// <summary>
    /// Starts unloading the collectible load context of a rule set compiled with <see cref="RuleCompileOptions.Collectible"/>
    /// (done once nothing references its code any more); nothing for any other rule set.
    /// </summary>
    public static void Unload(CompiledRuleSet ruleSet)
    {
        if (ruleSet.Create?.Method.DeclaringType?.Assembly is { } assembly &&
            AssemblyLoadContext.GetLoadContext(assembly) is { IsCollectible: true } context)
            context.Unload();
    }

    /// <summary>RuleSet_ and the id, every character that is not a letter or digit as '_'.</summary>
    private static string ClassName(RuleSetDefinition def)
    {
        var name = ("RuleSet_" + def.Id).ToCharArray();
        for (var i = 0; i < name.Length; i++)
            if (!char.IsLetterOrDigit(name[i])) name[i] = '_';
        return new string(name);
    }

    /// <summary>One rule expression of the rule set and the method it compiles to.</summary>
    internal sealed class ExpressionSite(RuleExpression expr, string method, string returnType, string parameters, bool whole, string what)
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

    private static void CollectExpressions(RulePlan plan, List<ExpressionSite> exprs)
    {
        var def = plan.Definition;
        for (var t = 0; t < def.Tables.Count; t++)
        {
            var table = def.Tables[t];
            if (table.Applies is { } a) exprs.Add(new(a, $"T{t}", "bool", "", false, $"table {table.Id} 'applies'"));
            for (var s = 0; s < table.Sections.Count; s++)
                if (table.Sections[s].When is { } w) exprs.Add(new(w, $"S{t}_{s}", "bool", "", false, $"section {table.Id}.{table.Sections[s].Id} 'when'"));
        }
        var qs = def.Quantities;
        // Each term of each named quantity: Q{k}_{j}, reading the other quantities it names (never itself: checked for circles).
        for (var k = 0; k < qs.Count; k++)
            for (var j = 0; j < qs[k].Terms.Count; j++)
            {
                var term = qs[k].Terms[j];
                exprs.Add(new(term.Expr, $"Q{k}_{j}", "decimal", FigureParameters([], "", term.Expr, qs), false,
                    $"quantity {qs[k].Name}{(term.OverlayId is { } o ? $" ({(term.Subtract ? "minus" : "plus")}, overlay {o})" : "")}"));
            }
        var rows = plan.RowDefinitions;
        for (var r = 0; r < rows.Count; r++)
            if (rows[r].When is { } w) exprs.Add(new(w, $"W{r}", "bool", FigureParameters(rows[r].Figures, "", w, qs), false, $"row {rows[r].Id} 'when'"));
        foreach (var c in plan.Cells)
        {
            var role = RoleNames.Key(c.Role);
            var figures = c.Row.Figures;
            if (c.Cell.When is { } w) exprs.Add(new(w, $"C{c.Index}", "bool", FigureParameters(figures, "", w, qs), false, $"row {c.Row.Id} ({role}) 'when'"));
            exprs.Add(new(c.Cell.Points, $"P{c.Index}", "decimal", FigureParameters(figures, "decimal Base", c.Cell.Points, qs), c.Row.WholePoints, $"row {c.Row.Id} ({role}) points"));
            // An overlay's figures inside its window: the same expression, with those figures, on the entries dated inside.
            if (c.Row.Windowed is { } wf)
                exprs.Add(new(c.Cell.Points, $"P{c.Index}w", "decimal", FigureParameters(RulePlan.Merge(figures, wf.Figures), "decimal Base", c.Cell.Points, qs), c.Row.WholePoints,
                    $"row {c.Row.Id} ({role}) points inside the {wf.OverlayId} window"));
        }
    }

    /// <summary>
    /// The figures of a row and the named quantities that an expression names, as its parameters (<c>decimal eur_per_point</c>,
    /// <c>decimal box_office_revenue</c>): the expression reads them by name; every call passes the row's static readonly
    /// fields (the plan's <see cref="PlanArgument"/>s), read from memory, not a decimal built at each call, and each quantity's value.
    /// A figure or quantity the expression does not name is not passed (16 bytes less to copy per call).
    /// </summary>
    private static string FigureParameters(IReadOnlyList<Figure> figures, string first, RuleExpression expression, IReadOnlyList<QuantityDefinition> quantities) =>
        string.Join(", ", (first.Length > 0 ? new[] { first } : []).Concat(figures.Where(f => Names(expression, f.Name)).Select(f => $"{(f.Bands is null ? "decimal" : RoslynEmitter.ScaleType)} {f.Name}"))
            .Concat(quantities.Where(q => Names(expression, q.Name)).Select(q => $"decimal {q.Name}")));

    /// <summary>
    /// Quantities that read each other in a circle would never finish: refused with the place of the first one, naming the
    /// circle.
    /// </summary>
    internal static void CheckQuantityCycles(RuleSetDefinition def, List<RuleError> errors)
    {
        var qs = def.Quantities;
        var state = new int[qs.Count]; // 0 unseen, 1 on the path, 2 done
        var path = new List<int>();
        bool Visit(int k)
        {
            if (state[k] == 2) return true;
            if (state[k] == 1)
            {
                var loop = path.Skip(path.IndexOf(k)).Append(k).Select(i => qs[i].Name);
                errors.Add(new RuleError(qs[k].Location.File, qs[k].Location.Line,
                    $"quantities read each other in a circle: {string.Join(" -> ", loop)}", qs[k].Location.Column));
                return false;
            }
            state[k] = 1;
            path.Add(k);
            foreach (var t in qs[k].Terms)
                foreach (var j in RulePlan.QuantitiesNamed(t.Expr, qs))
                    if (!Visit(j)) return false;
            path.RemoveAt(path.Count - 1);
            state[k] = 2;
            return true;
        }
        for (var k = 0; k < qs.Count; k++)
            if (!Visit(k)) return;
    }

    /// <summary>Whether the expression's text has the figure's name as a whole identifier (a name it does not write, it cannot read).</summary>
    private static bool Names(RuleExpression expression, string name) => RulePlan.Names(expression.Text, name);

    /// <summary>The rule assemblies loaded in this process, by cache key (content hash and engine build).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Assembly>> Loaded = new();

    /// <summary>
    /// Loads a rule assembly, once per content in a process: a rule set loaded again (a reload, another catalog of the same
    /// rules) takes the assembly already loaded, its code already compiled by the JIT. Not collectible: the runtime never tiers
    /// up the code of a collectible assembly (the perf map labels it [Optimized], compiled once, without the instrumented
    /// tier and the profile-guided [OptimizedTier1] that non-collectible code reaches), which made scoring 15-20% slower
    /// (RESULTS.md (b)). The cost is that a rule set replaced by a reload stays loaded: tens of KB of IL and its compiled
    /// code per distinct content, for the life of the process.
    /// </summary>
    private static Assembly Load(RuleSetDefinition def, string cacheKey, byte[] image) =>
        Loaded.GetOrAdd(cacheKey, _ => new Lazy<Assembly>(() =>
            new AssemblyLoadContext($"rules:{def.Id}:{cacheKey[..12]}").LoadFromStream(new MemoryStream(image)))).Value;

    /// <summary>
    /// The cache key: the rule set's shape (<see cref="Shape"/>: the definition with every figure's value, unit, citation and
    /// place blanked) and the engine build that compiled it; with baked figures, the content hash (the values are in the image).
    /// </summary>
    private static string CacheKey(RuleSetDefinition def, bool baked) =>
        Sha256.HexOf((baked ? "baked:" + def.ContentHash : "shape:" + Shape(def)) + "/" + RuleCache.EngineBuild)[..32];

    /// <summary>The SHA-256 of the definition as the generated class sees it: everything but the figures' values.</summary>
    internal static string Shape(RuleSetDefinition def)
    {
        static Figure Blank(Figure f) => new(f.Name, 0m, "", "", new SourceLocation("", 0));
        static RowDefinition BlankRow(RowDefinition r) => r with
        {
            Figures = r.Figures.Select(Blank).ToList(),
            Windowed = r.Windowed is { } w ? w with { Figures = w.Figures.Select(Blank).ToList(), Citation = "" } : null,
            Label = "", Citation = "", PatchedBy = [], Borrows = null, ReplacedBy = null,
        };
        // Places relative to the rules folder (the version's and its overlays' files alike): the same rules compiled at publish
        // and read where the program is installed have the same shape.
        var shape = def with
        {
            Directory = Path.GetDirectoryName(Path.GetFullPath(def.Directory)) ?? def.Directory,
            ContentHash = "", Title = "", Decree = "",
            Tables = def.Tables.Select(t => t with { Sections = t.Sections.Select(x => x with { Rows = x.Rows.Select(BlankRow).ToList() }).ToList() }).ToList(),
        };
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) DefinitionCodec.Write(w, shape);
        var sha = new Sha256();
        sha.Append(ms.GetBuffer().AsSpan(0, (int)ms.Length));
        return sha.FinishHex();
    }

    internal static string AssemblyName(RuleSetDefinition def, string cacheKey) => $"ContributiAutomatici.Rules.{def.Id}.{cacheKey[..12]}";
}
