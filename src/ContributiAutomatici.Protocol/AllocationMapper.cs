using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using M = ContributiAutomatici.Engine.Model;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// Between contributi.v1's allocation messages and the engine's <see cref="Allocator"/>. A year arrives as a stream of
/// <see cref="V1.AllocateRequest"/> items (or one <see cref="V1.AllocationYear"/>, turned into items); every item is
/// checked, and every problem collected, so one INVALID_ARGUMENT names them all, by item index and field path.
/// </summary>
public static class AllocationMapper
{
    /// <summary>Decimals of the "exact" amounts and points in the result (the proto says so).</summary>
    public const int ExactScale = Account.Scale;

    /// <summary>Decimals of the point values in the result.</summary>
    public const int PointValueScale = 12;

    /// <summary>The items of a year given as one message, in the order the stream takes them.</summary>
    public static IEnumerable<V1.AllocateRequest> Items(V1.AllocationYear year)
    {
        yield return new V1.AllocateRequest { Header = year.Header ?? new V1.AllocationHeader() };
        foreach (var c in year.Companies) yield return new V1.AllocateRequest { Company = c };
        foreach (var w in year.Works) yield return new V1.AllocateRequest { Work = w };
        foreach (var c in year.Claims) yield return new V1.AllocateRequest { Claim = c };
    }

    /// <summary>
    /// Collects the items of a year, checking each as it comes; <see cref="Build"/> checks the whole. Once the header is read,
    /// each company and work is mapped as it comes (the message is not held: a large year is not kept twice, as messages and
    /// as the engine's model); claims, small, wait for the whole year. The problems are reported in the same order as if
    /// everything were checked at the end: the items' kinds, the header, the companies, statements_for, the works, the claims.
    /// </summary>
    /// <param name="anyYear">A what-if: the version named allocates the year even if it does not govern it (regression runs).</param>
    public sealed class Reader(RuleCatalog catalog, bool anyYear = false)
    {
        private readonly List<FieldError> _errors = [];
        private readonly List<FieldError> _companyErrors = [];
        private readonly List<FieldError> _workErrors = [];
        private readonly Dictionary<string, Applicant> _companies = new(StringComparer.Ordinal);
        private readonly Dictionary<string, YearWork> _works = new(StringComparer.Ordinal);
        // The claims as they come, in blocks of a fixed size (not one array grown by doubling and copied: a year's claims are some
        // 100,000), each block below the large object heap's threshold.
        private readonly List<V1.Claim[]> _claims = [];
        private readonly List<int[]> _claimIndexes = []; // each claim's item index, beside it
        private int _claimCount;
        private const int ClaimBlock = 4096;
        private V1.AllocationHeader? _header;
        private (CompiledRuleSet RuleSet, string Resolution)? _resolved;
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _unresolved;
        // One mapping context for the works and one for the claims (their problems go to different lists); which results count
        // in the year is the engine's call (ResultAdmission), not the mapping's.
        private MapContext? _worksContext, _claimsContext;
        private int _index;

        /// <summary>Takes the next item of the stream.</summary>
        public void Add(V1.AllocateRequest item)
        {
            var index = _index++;
            switch (item.ItemCase)
            {
                case V1.AllocateRequest.ItemOneofCase.Header:
                    if (_header is not null || _index != 1)
                        Error($"items[{index}].header", "the header comes once, as the first item");
                    else Header(item.Header);
                    break;
                case V1.AllocateRequest.ItemOneofCase.Company:
                    // Without a resolved header Build refuses the year on the header alone: the item is not looked at.
                    if (_resolved is not null)
                    {
                        // Mapped under the item's stand-in root, as a work.
                        var mark = _companyErrors.Count;
                        var a = Company(item.Company);
                        Rooted(_companyErrors, mark, index, "company");
                        if (a is not null && !_companies.TryAdd(a.Id, a))
                            _companyErrors.Add(new FieldError($"items[{index}].company.id", $"company '{a.Id}' is given twice"));
                    }
                    break;
                case V1.AllocateRequest.ItemOneofCase.Work:
                    if (_resolved is { } r)
                    {
                        var w = item.Work;
                        // Mapped under the item's stand-in root: its path is written only if an error names it.
                        var mark = _workErrors.Count;
                        var first = w.FirstExploitationDate is null ? null
                            : RequestMapper.Date(w.FirstExploitationDate, Item + ".first_exploitation_date", _workErrors);
                        var yw = Work(w, first, Context(r.RuleSet, _workErrors));
                        Rooted(_workErrors, mark, index, "work");
                        if (yw is not null && !_works.TryAdd(yw.Work.Id, yw))
                            _workErrors.Add(new FieldError($"items[{index}].work.work.id", $"work '{yw.Work.Id}' is given twice"));
                    }
                    break;
                case V1.AllocateRequest.ItemOneofCase.Claim:
                    if (_claimCount % ClaimBlock == 0)
                    {
                        _claims.Add(new V1.Claim[ClaimBlock]);
                        _claimIndexes.Add(new int[ClaimBlock]);
                    }
                    _claims[^1][_claimCount % ClaimBlock] = item.Claim;
                    _claimIndexes[^1][_claimCount++ % ClaimBlock] = index;
                    break;
                default: Error($"items[{index}]", "an item is a header, a company, a work or a claim"); break;
            }
        }

        private void Header(V1.AllocationHeader h)
        {
            _header = h;
            try { _resolved = Resolve(h); }
            catch (Exception ex) { _unresolved = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex); }
        }

        /// <summary>
        /// The stand-in root an item is mapped under (no field path starts with it): the fields of a right item name no path, so
        /// none is written; <see cref="Rooted"/> then puts the item's own path in the errors it made.
        /// </summary>
        private const string Item = "\u0001";

        /// <summary>The errors from <paramref name="mark"/> on, made under <see cref="Item"/>: their paths under items[index].kind.</summary>
        private static void Rooted(List<FieldError> errors, int mark, int index, string kind)
        {
            for (var k = mark; k < errors.Count; k++)
                if (errors[k].Field.StartsWith(Item, StringComparison.Ordinal))
                    errors[k] = errors[k] with { Field = $"items[{index}].{kind}{errors[k].Field[Item.Length..]}" };
        }

        /// <summary>The mapping context of the works (problems into <c>_workErrors</c>) or of the claims.</summary>
        private MapContext Context(CompiledRuleSet ruleSet, List<FieldError> errors) =>
            ReferenceEquals(errors, _workErrors)
                ? _worksContext ??= new MapContext(ruleSet, errors)
                : _claimsContext ??= new MapContext(ruleSet, errors);

        private void Error(string field, string description)
        {
            _errors.Add(new FieldError(field, description));
        }

        /// <summary>The companies whose statements the header asks for (<see cref="Build"/> checks them); empty: all.</summary>
        public IReadOnlyList<string> StatementsFor { get; private set; } = [];

        /// <summary>The validated year, or <see cref="InvalidRequestException"/> naming every offending field.</summary>
        public AllocationInput Build()
        {
            if (_header is null)
            {
                Error("items[0].header", "the first item must be the header (application year, budget, ...)");
                throw new InvalidRequestException(_errors);
            }
            var h = _header;
            _unresolved?.Throw();
            var (ruleSet, resolution) = _resolved!.Value;
            if (!h.HasApplicationYear) Error("items[0].header.application_year", "the application year is required");
            else if (h.ApplicationYear is < 1900 or > 9999) Error("items[0].header.application_year", $"a year, got {h.ApplicationYear}");
            var budget = RequestMapper.Decimal(h.Budget, "items[0].header.budget", _errors);
            if (budget is null && h.Budget.Length == 0) Error("items[0].header.budget", "the year's budget in euro is required");
            else if (budget <= 0) Error("items[0].header.budget", $"must be > 0, got {h.Budget}");
            if (h.HasCreditingYear && h.CreditingYear < h.ApplicationYear)
                Error("items[0].header.crediting_year", $"cannot precede the application year {h.ApplicationYear}, got {h.CreditingYear}");
            if (!Enum.IsDefined(h.ExcessPolicy)) Error("items[0].header.excess_policy", $"unknown policy {h.ExcessPolicy}");

            var companies = _companies;
            _errors.AddRange(_companyErrors);
            for (var i = 0; i < h.StatementsFor.Count; i++)
                if (!companies.ContainsKey(h.StatementsFor[i]))
                    Error($"items[0].header.statements_for[{i}]", $"company '{h.StatementsFor[i]}' is not one of the year's companies");
            StatementsFor = h.StatementsFor.Distinct(StringComparer.Ordinal).ToList();

            _errors.AddRange(_workErrors);
            var works = _works;
            var claims = new List<YearClaim>(_claimCount);
            for (var k = 0; k < _claimCount; k++)
            {
                var (c, index) = (_claims[k / ClaimBlock][k % ClaimBlock], _claimIndexes[k / ClaimBlock][k % ClaimBlock]);
                // Mapped under the stand-in root, as the works: a right claim writes no path.
                const string path = Item;
                var mark = _errors.Count;
                if (c.CompanyId.Length == 0) Error($"{path}.company_id", "the claiming company is required");
                else if (!companies.ContainsKey(c.CompanyId)) Error($"{path}.company_id", $"company '{c.CompanyId}' is claimed for but never given");
                works.TryGetValue(c.WorkId, out var yw);
                if (c.WorkId.Length == 0) Error($"{path}.work_id", "the claimed work is required");
                else if (yw is null) Error($"{path}.work_id", $"work '{c.WorkId}' is claimed but never given");
                var share = (c.RightsSharePercent.Length == 0 ? null : RequestMapper.Decimal(c.RightsSharePercent, path + ".rights_share_percent", _errors)) ?? 100m;
                if (share is <= 0 or > 100) Error($"{path}.rights_share_percent", $"a share of rights is above 0% and at most 100%, got {c.RightsSharePercent}");
                var ctx = Context(ruleSet, _errors);
                var role = RequestMapper.MapRole(c.Role, path + ".role", ctx);
                Rooted(_errors, mark, index, "claim");
                if (role is not null) claims.Add(new YearClaim(c.CompanyId, c.WorkId, role, share));
            }
            _claims.Clear();
            _claimIndexes.Clear();
            _claimCount = 0;
            if (_errors.Count > 0) throw new InvalidRequestException(_errors);
            return new AllocationInput(ruleSet, resolution, h.ApplicationYear, h.HasCreditingYear ? h.CreditingYear : h.ApplicationYear,
                budget!.Value, h.ExcessPolicy switch
                {
                    V1.ExcessPolicy.Unassigned => ExcessPolicy.Unassigned,
                    V1.ExcessPolicy.Redistribute => ExcessPolicy.Redistribute,
                    _ => null,
                }, [.. companies.Values], [.. works.Values], claims);
        }

        private (CompiledRuleSet, string) Resolve(V1.AllocationHeader h)
        {
            var request = new V1.ScoreWorkRequest
            {
                RuleSetId = h.RuleSetId, WithOverlays = { h.WithOverlays }, WithoutOverlays = { h.WithoutOverlays }, Reform = h.Reform,
            };
            if (h.HasApplicationYear) request.ApplicationYear = h.ApplicationYear;
            var rs = RequestMapper.Resolve(request, catalog, "items[0].header.", anyYear);
            if (rs.Definition.Allocation is null)
                throw new InvalidRequestException([new FieldError("items[0].header.rule_set_id",
                    $"rule set {rs.Id} has no allocation block in its manifest: it can score, not allocate")]);
            return (rs, h.RuleSetId.Length > 0 ? "requested" : $"in force for application year {h.ApplicationYear}");
        }

        /// <summary>A company of the year, its fields' paths under <see cref="Item"/>.</summary>
        private Applicant? Company(V1.Company c)
        {
            const string path = Item;
            void Error(string field, string description) => _companyErrors.Add(new FieldError(field, description));
            if (c.Id.Length == 0) Error($"{path}.id", "a company needs its id");
            if (c.AtecoCode.Length == 0) Error($"{path}.ateco_code", "the ATECO code is required (art. 4.1)");
            else if (!c.AtecoCode.Any(char.IsAsciiDigit)) Error($"{path}.ateco_code", $"not an ATECO code: '{c.AtecoCode}' (write e.g. \"59.11\")");
            for (var i = 0; i < c.SecondaryAtecoCodes.Count; i++)
                if (!c.SecondaryAtecoCodes[i].Any(char.IsAsciiDigit))
                    Error($"{path}.secondary_ateco_codes[{i}]", $"not an ATECO code: '{c.SecondaryAtecoCodes[i]}' (write e.g. \"59.13\")");
            if (!c.HasEeaSeat) Error($"{path}.eea_seat", "say whether the registered office is in the EEA (art. 4.2.a)");
            var netWorth = c.NetWorth.Length == 0 ? null : RequestMapper.Decimal(c.NetWorth, $"{path}.net_worth", _companyErrors);
            if (c.NetWorth.Length == 0) Error($"{path}.net_worth", "the net worth of the last filed accounts is required (art. 14.2)");
            return c.Id.Length == 0 ? null
                : new Applicant(c.Id, c.Name, c.AtecoCode, c.HasIndependent ? c.Independent : null, c.EeaSeat, netWorth ?? 0)
                {
                    SecondaryAteco = [.. c.SecondaryAtecoCodes],
                };
        }

        /// <summary>A work of the year, its fields' paths under <see cref="Item"/>.</summary>
        private YearWork? Work(V1.AllocationWork w, DateOnly? firstExploitation, MapContext ctx)
        {
            const string path = Item;
            void Error(string field, string description) => _workErrors.Add(new FieldError(field, description));
            var work = RequestMapper.MapWork(w.Work, path + ".work", ctx);
            if (work is null) return null;
            if (work.Id.Length == 0) Error($"{path}.work.id", "a work needs its id (claims name it)");
            if (!w.HasEligible) Error($"{path}.eligible", "say whether the work is eligible (art. 5.1: Italian nationality, deposit, tax-credit requirements, type)");
            return new YearWork(work, w.Eligible, firstExploitation, w.GivenPoints.Count > 0 ? Given(w, ctx) : null);
        }

        /// <summary>
        /// A work's given points, their fields' paths under <see cref="Item"/> (a method of its own: the closure its query makes is
        /// made for the works that give points, not for every work).
        /// </summary>
        private List<GivenPoints> Given(V1.AllocationWork w, MapContext ctx)
        {
            const string path = Item;
            void Error(string field, string description) => _workErrors.Add(new FieldError(field, description));
            List<GivenPoints> given = [];
            {
                var paying = ctx.RuleSet.Definition.Quotas.Where(q => !q.Reserved && ctx.RuleSet.Definition.Quotas.All(s => s.ParentId != q.Id))
                    .Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
                for (var i = 0; i < w.GivenPoints.Count; i++)
                {
                    var g = w.GivenPoints[i];
                    var p = $"{path}.given_points[{i}]";
                    if (g.Role == V1.Role.Unspecified || !Enum.IsDefined(g.Role)) Error($"{p}.role", "role is required");
                    if (!paying.Contains(g.QuotaId))
                        Error($"{p}.quota_id", $"'{g.QuotaId}' is not a quota that pays in {ctx.RuleSet.Id} (one of {string.Join(", ", paying.Order(StringComparer.Ordinal))})");
                    var points = RequestMapper.Amount(g.Points, $"{p}.points", _workErrors, required: true);
                    given.Add(new GivenPoints((M.Role)(int)g.Role, g.QuotaId, points ?? 0));
                }
            }
            return given;
        }
    }

    // ------------------------------------------------------------------ the result

    /// <summary>Canonical decimal strings: rounded half away from zero to <paramref name="scale"/>, no trailing zeros.</summary>
    public static string Dec(decimal d, int scale = ExactScale) =>
        decimal.IsInteger(d) && d >= 0 && d < SmallIntegers.Length ? SmallIntegers[(int)d] // a share of 100%, whole points: written once
            : ResponseMapper.Dec(Math.Round(d, scale, MidpointRounding.AwayFromZero));

    /// <summary>The canonical strings of the integers 0-1023 (what <see cref="ResponseMapper.Dec"/> writes for them at any scale).</summary>
    private static readonly string[] SmallIntegers = [.. Enumerable.Range(0, 1024).Select(i => ResponseMapper.Dec(i))];

    private static string Money(decimal d) => Dec(d, 2);

    /// <summary>
    /// The result as stream items: the summary, then companies, works, exclusions (each in id order). With
    /// <paramref name="statementsFor"/> (company ids): the summary, those companies' statements, the works they claim,
    /// and the exclusions of those companies or works. Every item is a message of its own (<see cref="Result"/>, the unary call).
    /// </summary>
    public static IEnumerable<V1.AllocateResponse> Items(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor = null)
    {
        foreach (var (kind, i) in Chosen(o, statementsFor))
            yield return kind switch
            {
                V1.AllocateResponse.ItemOneofCase.Summary => new V1.AllocateResponse { Summary = Summary(o) },
                V1.AllocateResponse.ItemOneofCase.Company => new V1.AllocateResponse { Company = Company(o.Companies[i]) },
                V1.AllocateResponse.ItemOneofCase.Work => new V1.AllocateResponse { Work = Work(o.Works[i]) },
                _ => new V1.AllocateResponse { Exclusion = ResponseMapper.Exclusion(o.Exclusions[i]) },
            };
    }

    /// <summary>
    /// The items of <see cref="Items"/>, each as the bytes of its message (protobuf's binary encoding, the same bytes), written
    /// straight from the outcome into one buffer, reused: the year's response messages are never built, nor a string per
    /// figure. Each item's bytes are valid until the next is asked for (the gRPC stream copies them to its transport).
    /// </summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Frames(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor = null) =>
        Frames(o, statementsFor, Environment.ProcessorCount);

    /// <param name="workers">
    /// The threads writing items side by side (<see cref="FramePipe"/>, the caller's among them), the items still handed out in
    /// order; 1 (or a small year): one by one on the caller's thread. The same bytes.
    /// </param>
    internal static IEnumerable<ReadOnlyMemory<byte>> Frames(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor, int workers) =>
        workers > 1 && o.Companies.Count + o.Works.Count + o.Exclusions.Count >= FramePipe.From
            ? SideBySide(o, statementsFor, workers)
            : OneByOne(o, statementsFor);

    private static IEnumerable<ReadOnlyMemory<byte>> OneByOne(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor)
    {
        var e = new ProtoEncoder();
        var coproduction = new V1.CoproductionStatus();
        foreach (var (kind, i) in Chosen(o, statementsFor))
        {
            e.Reset();
            Item(e, o, kind, i, coproduction);
            yield return e.Written;
        }
    }

    /// <summary>
    /// The items' bytes written in batches by <see cref="FramePipe"/>'s workers, a few batches ahead of the caller, each batch
    /// handed out in order once written (the caller writes the next itself when no worker has taken it). A batch's bytes stay
    /// until the caller has moved past its last item.
    /// </summary>
    private static IEnumerable<ReadOnlyMemory<byte>> SideBySide(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor, int workers)
    {
        using var items = Chosen(o, statementsFor).GetEnumerator();
        using var pipe = new FramePipe(o, workers);
        foreach (var b in pipe.Ring) pipe.Fill(b, items);
        for (var next = 0; ; next++)
        {
            var b = pipe.Ring[next % pipe.Ring.Length];
            if (b.Count == 0) yield break; // the items ran out: this batch and every one after it are empty
            pipe.Finish(b);
            for (var k = 0; k < b.Count; k++) yield return b.Frame(k);
            pipe.Fill(b, items);
        }
    }

    /// <summary>One item's bytes (the summary's message, or a statement or exclusion written field by field).</summary>
    private static void Item(ProtoEncoder e, AllocationOutcome o, V1.AllocateResponse.ItemOneofCase kind, int i, V1.CoproductionStatus coproduction)
    {
        if (kind == V1.AllocateResponse.ItemOneofCase.Summary) e.Message((int)kind, "summary", Summary(o));
        else
        {
            e.Begin((int)kind, "", repeated: false);
            Write(e, o, kind, i, coproduction);
            e.End();
        }
    }

    /// <summary>
    /// A ring of batches of items, each with its own encoder: the caller fills them in order (<see cref="Fill"/>), workers (tasks)
    /// take the earliest filled one and write its items, the caller waits for each in order (<see cref="Finish"/>, writing it
    /// itself if none has taken it). Disposed, it stops the workers and waits for them (no batch written after).
    /// </summary>
    private sealed class FramePipe : IDisposable
    {
        /// <summary>Statements and exclusions from which a year's items are written side by side.</summary>
        public const int From = 2048;

        /// <summary>Items a batch holds at most.</summary>
        private const int BatchItems = 256;

        /// <summary>
        /// A batch's items' lines and claims at most (some 100 bytes each: a batch's bytes some 50 KB, in an encoder's first
        /// buffer), a large statement alone in its batch.
        /// </summary>
        private const int BatchLines = 512;

        private const int Filled = 0, Taken = 1, Written = 2;

        public sealed class Batch
        {
            public readonly (V1.AllocateResponse.ItemOneofCase Kind, int Index)[] Items = new (V1.AllocateResponse.ItemOneofCase, int)[BatchItems];
            public readonly int[] Ends = new int[BatchItems]; // where each item's bytes end in the encoder's
            public readonly ProtoEncoder Encoder = new();
            public readonly V1.CoproductionStatus Coproduction = new();
            public readonly ManualResetEventSlim Done = new(false);
            public int Count, State = Written;
            public long Sequence;
            public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure;

            public ReadOnlyMemory<byte> Frame(int k) => Encoder.Slice(k == 0 ? 0 : Ends[k - 1], Ends[k]);
        }

        private readonly AllocationOutcome _o;
        public Batch[] Ring { get; }
        private readonly SemaphoreSlim _filled = new(0);
        private readonly Task[] _workers;
        private volatile bool _stopped;
        private long _sequence;

        public FramePipe(AllocationOutcome o, int workers)
        {
            _o = o;
            Ring = new Batch[2 * workers];
            for (var k = 0; k < Ring.Length; k++) Ring[k] = new Batch();
            _workers = new Task[workers - 1];
            for (var k = 0; k < _workers.Length; k++) _workers[k] = Task.Run(Work);
        }

        /// <summary>The next items into <paramref name="b"/> (none left: it stays empty) and offered to the workers.</summary>
        public void Fill(Batch b, IEnumerator<(V1.AllocateResponse.ItemOneofCase, int)> items)
        {
            b.Count = 0;
            for (var lines = 0; b.Count < BatchItems && lines < BatchLines && items.MoveNext(); b.Count++)
            {
                b.Items[b.Count] = items.Current;
                lines += Lines(items.Current.Item1, items.Current.Item2);
            }
            if (b.Count == 0) return;
            (b.Sequence, b.Failure) = (_sequence++, null);
            b.Done.Reset();
            Volatile.Write(ref b.State, Filled);
            _filled.Release();
        }

        /// <summary>An item's lines (a company's credits' lines, a work's claims), of which its size is some 100 bytes each.</summary>
        private int Lines(V1.AllocateResponse.ItemOneofCase kind, int i)
        {
            if (kind == V1.AllocateResponse.ItemOneofCase.Work) return 1 + _o.Works[i].Claims.Count;
            if (kind != V1.AllocateResponse.ItemOneofCase.Company) return 1;
            var lines = 1;
            foreach (var credit in _o.Companies[i].Credits) lines += 1 + credit.Lines.Count;
            return lines;
        }

        /// <summary>
        /// <paramref name="b"/> written, now on the caller's thread or by a worker; while a worker writes it, the caller writes the
        /// batches after it that no worker has taken, then waits. Its failure thrown.
        /// </summary>
        public void Finish(Batch b)
        {
            while (Interlocked.CompareExchange(ref b.State, Taken, Filled) != Filled)
            {
                if (Volatile.Read(ref b.State) == Written || !TakeEarliest())
                {
                    b.Done.Wait();
                    b.Failure?.Throw();
                    return;
                }
            }
            Encode(b);
            b.Failure?.Throw();
        }

        /// <summary>A worker: waits (without holding a thread: the server's caller may be slow to send) for a batch filled, writes the earliest.</summary>
        private async Task Work()
        {
            while (true)
            {
                await _filled.WaitAsync().ConfigureAwait(false);
                if (_stopped) return;
                TakeEarliest();
            }
        }

        /// <summary>The earliest batch filled and not taken, written (false: none).</summary>
        private bool TakeEarliest()
        {
            Batch? earliest = null;
            foreach (var b in Ring)
                if (Volatile.Read(ref b.State) == Filled && (earliest is null || b.Sequence < earliest.Sequence)) earliest = b;
            if (earliest is null || Interlocked.CompareExchange(ref earliest.State, Taken, Filled) != Filled) return earliest is not null;
            Encode(earliest);
            return true;
        }

        private void Encode(Batch b)
        {
            try
            {
                var e = b.Encoder;
                e.Reset();
                for (var k = 0; k < b.Count; k++)
                {
                    Item(e, _o, b.Items[k].Kind, b.Items[k].Index, b.Coproduction);
                    b.Ends[k] = e.Length;
                }
            }
            catch (Exception ex)
            {
                b.Failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                Volatile.Write(ref b.State, Written);
                b.Done.Set();
            }
        }

        public void Dispose()
        {
            _stopped = true;
            _filled.Release(_workers.Length);
            Task.WaitAll(_workers);
            foreach (var b in Ring) b.Done.Dispose();
            _filled.Dispose();
        }
    }

    /// <summary>The item <paramref name="i"/> of <paramref name="kind"/> (a statement or an exclusion): its fields.</summary>
    private static void Write(Encoder e, AllocationOutcome o, V1.AllocateResponse.ItemOneofCase kind, int i, V1.CoproductionStatus coproduction)
    {
        switch (kind)
        {
            case V1.AllocateResponse.ItemOneofCase.Company: Company(e, o.Companies[i]); break;
            case V1.AllocateResponse.ItemOneofCase.Work: Work(e, o.Works[i], coproduction); break;
            default: Exclusion(e, o.Exclusions[i]); break;
        }
    }

    /// <summary>The items chosen (<see cref="Items"/>): each one's kind and its index among the outcome's of that kind.</summary>
    private static IEnumerable<(V1.AllocateResponse.ItemOneofCase Kind, int Index)> Chosen(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor)
    {
        yield return (V1.AllocateResponse.ItemOneofCase.Summary, 0);
        var all = statementsFor is not { Count: > 0 };
        var companies = all ? null : statementsFor!.ToHashSet(StringComparer.Ordinal);
        var works = all ? null : companies!.SelectMany(c => o.WorksClaimed.GetValueOrDefault(c) ?? []).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < o.Companies.Count; i++)
            if (all || companies!.Contains(o.Companies[i].Id)) yield return (V1.AllocateResponse.ItemOneofCase.Company, i);
        for (var i = 0; i < o.Works.Count; i++)
            if (all || works!.Contains(o.Works[i].Id)) yield return (V1.AllocateResponse.ItemOneofCase.Work, i);
        for (var i = 0; i < o.Exclusions.Count; i++)
        {
            var e = o.Exclusions[i];
            if (all || companies!.Contains(e.CompanyId) || e.CompanyId.Length == 0 && works!.Contains(e.WorkId))
                yield return (V1.AllocateResponse.ItemOneofCase.Exclusion, i);
        }
    }

    /// <summary>
    /// The result's JSON as <see cref="Result"/> formatted by an indented <see cref="JsonFormatter"/> would print it, written item
    /// by item from the outcome: the summary formatted, then each statement and exclusion written field by field at the depth of
    /// its array (<see cref="JsonEncoder"/>, no message, no string per figure) into a buffer handed to <paramref name="output"/> in
    /// pieces of some 32,000 characters. Nothing but the item in hand is held, so a large year's output does not sit in memory.
    /// The text is the same, byte for byte (<c>AllocationJsonTests</c>).
    /// </summary>
    public static void WriteJson(AllocationOutcome o, IReadOnlyCollection<string>? statementsFor, TextWriter output)
    {
        // The console's writer flushes every write: the text goes through a buffer, its memory kept from one piece to the next.
        var w = new StringWriter(CultureInfo.InvariantCulture);
        var buffer = w.GetStringBuilder();
        var e = new JsonEncoder(w);
        var coproduction = new V1.CoproductionStatus();
        // The fields in the message's order (summary 1, companies 2, works 3, exclusions 4), as the items come; empty ones left out.
        var open = V1.AllocateResponse.ItemOneofCase.None; // the array being written
        var first = true;                                   // no field written yet
        foreach (var (kind, i) in Chosen(o, statementsFor))
        {
            var repeated = kind != V1.AllocateResponse.ItemOneofCase.Summary;
            if (open != V1.AllocateResponse.ItemOneofCase.None && open != kind)
            {
                w.Write("\n  ]");
                open = V1.AllocateResponse.ItemOneofCase.None;
            }
            if (open == V1.AllocateResponse.ItemOneofCase.None)
            {
                w.Write(first ? "{\n  \"" : ",\n  \"");
                w.Write(kind switch
                {
                    V1.AllocateResponse.ItemOneofCase.Summary => "summary",
                    V1.AllocateResponse.ItemOneofCase.Company => "companies",
                    V1.AllocateResponse.ItemOneofCase.Work => "works",
                    _ => "exclusions",
                });
                w.Write(repeated ? "\": [\n    " : "\": ");
                first = false;
                if (repeated) open = kind;
            }
            else w.Write(",\n    ");
            // Written at the depth of its place (a statement in its array, two levels; the summary, one).
            if (!repeated) JsonEncoder.Formatter.Format(Summary(o), w, 1);
            else
            {
                e.BeginObject(2);
                Write(e, o, kind, i, coproduction);
                e.End();
            }
            if (buffer.Length < 1 << 15) continue;
            output.Write(buffer);
            buffer.Clear();
        }
        if (open != V1.AllocateResponse.ItemOneofCase.None) w.Write("\n  ]");
        w.Write(first ? "{}" : "\n}");
        output.Write(buffer);
    }

    /// <summary>The result as one message (the CLI's --json).</summary>
    public static V1.AllocationResult Result(IEnumerable<V1.AllocateResponse> items)
    {
        var r = new V1.AllocationResult();
        foreach (var i in items)
            switch (i.ItemCase)
            {
                case V1.AllocateResponse.ItemOneofCase.Summary: r.Summary = i.Summary; break;
                case V1.AllocateResponse.ItemOneofCase.Company: r.Companies.Add(i.Company); break;
                case V1.AllocateResponse.ItemOneofCase.Work: r.Works.Add(i.Work); break;
                case V1.AllocateResponse.ItemOneofCase.Exclusion: r.Exclusions.Add(i.Exclusion); break;
            }
        return r;
    }

    public static V1.AllocationSummary Summary(AllocationOutcome o)
    {
        var s = new V1.AllocationSummary
        {
            RuleSetId = o.RuleSetId, ContentHash = o.ContentHash, RuleSetResolution = o.Resolution, ApplicationYear = o.ApplicationYear,
            CreditingYear = o.CreditingYear, Budget = Dec(o.Budget),
            ExcessPolicy = o.Excess == ExcessPolicy.Redistribute ? V1.ExcessPolicy.Redistribute : V1.ExcessPolicy.Unassigned,
            ExcessPolicySource = o.ExcessFromRequest ? "request" : "rule set",
            Allocated = Money(o.Allocated), Unassigned = Dec(o.Unassigned), Reserved = Dec(o.Reserved), RoundingResidue = Dec(o.RoundingResidue),
            Companies = o.Companies.Count, Works = o.Works.Count, Claims = o.ClaimCount, Exclusions = o.Exclusions.Count,
        };
        s.WorksNotScored.AddRange(o.WorksNotScored);
        s.Overlays.AddRange(o.Overlays);
        if (o.Reform is { } reform)
            s.Reform = new V1.ReformApplied { Id = reform.Id, Title = reform.Title, ContentHash = reform.ContentHash, FigureOnly = reform.FigureOnly };
        s.IncompleteWorks = o.Works.Count(w => w.MissingRows.Count > 0);
        s.ProvisionalRows.AddRange(o.Works.SelectMany(w => w.ProvisionalRows).Distinct().Order(StringComparer.Ordinal));
        s.Policies.AddRange(o.Policies);
        s.Account = Reconciliation(o.Account);
        s.Unassigned = s.Account.Unassigned;
        s.RoundingResidue = s.Account.RoundingResidue;
        foreach (var q in o.Quotas)
        {
            var qa = new V1.QuotaAllocation
            {
                QuotaId = q.Quota.Id, Title = q.Quota.Title, ParentId = q.Quota.ParentId ?? "", Citation = q.Quota.Citation,
                SharePercent = Dec(q.Quota.SharePercent), Resources = Dec(q.Resources), Reserved = q.Quota.Reserved, AllocatedHere = q.Pays,
            };
            if (q.Pays)
            {
                qa.TotalPoints = Dec(q.TotalPoints);
                qa.PointValue = Dec(q.PointValue, PointValueScale);
                qa.Allocated = Money(q.Allocated);
                qa.CutByWorkCap = Dec(q.CutByWorkCap);
                qa.CutByCompanyCap = Dec(q.CutByCompanyCap);
                qa.Unassigned = Dec(q.Unassigned);
                qa.RoundingResidue = Dec(q.RoundingResidue);
                qa.WorkCap = Dec(q.WorkCap);
                qa.CompanyCap = Dec(q.CompanyCap);
            }
            if (q.Account is { } account)
            {
                // One figure everywhere: the quota's unassigned and residue are its account's.
                qa.Account = Reconciliation(account);
                qa.Unassigned = qa.Account.Unassigned;
                qa.RoundingResidue = qa.Account.RoundingResidue;
                qa.Pools.AddRange(q.Pools.Select(p => new V1.PoolReconciliation
                {
                    Pool = p.Pool, Points = Dec(p.Points), PointValue = Dec(p.PointValue, PointValueScale), Account = Reconciliation(p.Account),
                }));
            }
            if (q.ShortFilms is { } sf)
                qa.ShortFilms = new V1.ShortFilmsLimit
                {
                    LimitPercent = Dec(sf.LimitPercent), Binding = sf.Binding, Points = Dec(sf.Points), Resources = Dec(sf.Resources),
                    PointValue = Dec(sf.PointValue, PointValueScale), OtherPointValue = Dec(sf.OtherPointValue, PointValueScale),
                };
            s.Quotas.Add(qa);
        }
        return s;
    }

    /// <summary>An account, its figures already to the published scale (so they sum as written).</summary>
    public static V1.Reconciliation Reconciliation(Reconciliation a) => new()
    {
        Resources = Dec(a.Resources), Allocated = Dec(a.Allocated), Unassigned = Dec(a.Unassigned), UnassignedWorkCap = Dec(a.UnassignedWorkCap),
        UnassignedCompanyCap = Dec(a.UnassignedCompanyCap), UnassignedShortFilmsLimit = Dec(a.UnassignedShortFilmsLimit),
        UnassignedNoClaimant = Dec(a.UnassignedNoClaimant), RoundingResidue = Dec(a.RoundingResidue), Redistributed = Dec(a.Redistributed),
    };

    private static (string Before, string WorkCut, string CompanyCut, string Exact) Cuts(decimal before, decimal workCut, decimal companyCut, decimal exact)
    {
        var (b, w, c, e) = Account.Written(before, workCut, companyCut, exact);
        // Uncapped (most claims): the exact amount is the amount before the caps, written once.
        var written = Dec(b);
        return (written, Dec(w), Dec(c), e == b ? written : Dec(e));
    }

    /// <summary>A company's statement, a message of its own.</summary>
    private static V1.CompanyStatement Company(CompanyOutcome c)
    {
        var s = new V1.CompanyStatement();
        s.CompanyId = c.Id;
        s.Name = c.Name;
        s.Total = Money(c.Total);
        var credits = s.Credits;
        for (var k = 0; k < c.Credits.Count; k++)
        {
            var x = c.Credits[k];
            var credit = Added(credits);
            credit.QuotaId = x.QuotaId;
            credit.Points = Dec(x.Points);
            credit.ExactAmount = Dec(x.Exact);
            credit.Amount = Money(x.Amount);
            credit.CreditingYear = x.CreditingYear;
            credit.ExpiresOn = new Google.Type.Date { Year = x.ExpiresOn.Year, Month = x.ExpiresOn.Month, Day = x.ExpiresOn.Day };
            credit.RoundingGiveBack = x.GiveBack;
            Strings(credit.Caps, x.Caps);
            credit.Rounding = Dec(x.Rounding);
            var lines = credit.Lines;
            for (var i = 0; i < x.Lines.Count; i++)
            {
                var l = x.Lines[i];
                var line = Added(lines);
                (line.BeforeCaps, line.CutByWorkCap, line.CutByCompanyCap, line.ExactAmount) = Cuts(l.BeforeCaps, l.CutByWorkCap, l.CutByCompanyCap, l.Exact);
                line.WorkId = l.WorkId;
                line.Role = (V1.Role)(int)l.Role;
                line.RightsSharePercent = Dec(l.SharePercent);
                line.Points = Dec(l.Points);
                line.ShortFilmsPool = l.ShortFilmsPool;
                Strings(line.Caps, l.Caps);
            }
        }
        return s;
    }

    /// <summary>A work's statement, a message of its own.</summary>
    private static V1.WorkStatement Work(WorkOutcome w)
    {
        var s = new V1.WorkStatement();
        s.WorkId = w.Id;
        s.Title = w.Title;
        s.ScoredHere = w.ScoredHere;
        s.Amount = Money(w.Amount);
        Strings(s.ProvisionalRows, w.ProvisionalRows);
        Strings(s.MissingRows, w.MissingRows);
        s.Coproduction = w.Coproduction is { } cp ? ResponseMapper.Coproduction(cp, new V1.CoproductionStatus()) : null;
        var claims = s.Claims;
        for (var i = 0; i < w.Claims.Count; i++)
        {
            var c = w.Claims[i];
            var claim = Added(claims);
            (claim.BeforeCaps, claim.CutByWorkCap, claim.CutByCompanyCap, claim.ExactAmount) = Cuts(c.BeforeCaps, c.CutByWorkCap, c.CutByCompanyCap, c.Exact);
            claim.CompanyId = c.CompanyId;
            claim.Role = (V1.Role)(int)c.Role;
            claim.RightsSharePercent = Dec(c.SharePercent);
            claim.QuotaId = c.QuotaId;
            claim.Points = Dec(c.Points);
            claim.WorkCapped = c.WorkCapped;
            claim.CompanyCapped = c.CompanyCapped;
            claim.ShortFilmsPool = c.ShortFilmsPool;
        }
        var shares = s.AuthorShares;
        if (w.AuthorShares is AuthorShares same)
        {
            // Every category the same percent and amount: each written once.
            var (d, percent, amount) = (same.Definition, Dec(same.Definition.Percent), Money(same.Amount));
            for (var i = 0; i < d.Categories.Count; i++) Share(shares, d.Categories[i], percent, amount, d.Citation);
        }
        else
        {
            for (var i = 0; i < w.AuthorShares.Count; i++)
            {
                var a = w.AuthorShares[i];
                Share(shares, a.Category, Dec(a.Percent), Money(a.Amount), a.Citation);
            }
        }
        return s;

        static void Share(Google.Protobuf.Collections.RepeatedField<V1.AuthorShare> shares, string category, string percent, string amount, string citation)
        {
            var share = Added(shares);
            (share.Category, share.Percent, share.Amount, share.Citation) = (category, percent, amount, citation);
        }
    }

    // ---- the same statements written field by field (Frames, WriteJson): each field as the message above would hold it, in
    // field-number order, named as its JSON name.

    /// <summary>contributi.v1.Role, as the formatter names its values.</summary>
    internal static readonly Google.Protobuf.Reflection.EnumDescriptor RoleType = V1.ClaimAmount.Descriptor.FindFieldByName("role").EnumType;

    /// <summary>A company's statement (contributi.v1.CompanyStatement), as <see cref="Company(CompanyOutcome)"/> fills it.</summary>
    private static void Company(Encoder e, CompanyOutcome c)
    {
        e.String(1, "companyId", c.Id);
        e.String(2, "name", c.Name);
        e.Decimal(3, "total", c.Total, 2);
        for (var k = 0; k < c.Credits.Count; k++)
        {
            var x = c.Credits[k];
            e.Begin(4, "credits", repeated: true);
            e.String(1, "quotaId", x.QuotaId);
            e.Decimal(2, "points", x.Points, ExactScale);
            e.Decimal(3, "exactAmount", x.Exact, ExactScale);
            e.Decimal(4, "amount", x.Amount, 2);
            e.Strings(5, "caps", x.Caps);
            e.Int(6, "creditingYear", x.CreditingYear);
            e.Begin(7, "expiresOn", repeated: false);
            e.Int(1, "year", x.ExpiresOn.Year);
            e.Int(2, "month", x.ExpiresOn.Month);
            e.Int(3, "day", x.ExpiresOn.Day);
            e.End();
            e.Bool(8, "roundingGiveBack", x.GiveBack);
            e.Decimal(9, "rounding", x.Rounding, ExactScale);
            for (var i = 0; i < x.Lines.Count; i++)
            {
                var l = x.Lines[i];
                var (before, workCut, companyCut, exact) = Account.Written(l);
                e.Begin(10, "lines", repeated: true);
                e.String(1, "workId", l.WorkId);
                e.Enum(2, "role", (int)l.Role, RoleType);
                e.Decimal(3, "rightsSharePercent", l.SharePercent, ExactScale);
                e.Decimal(4, "points", l.Points, ExactScale);
                e.Decimal(5, "beforeCaps", before, ExactScale);
                e.Decimal(6, "cutByWorkCap", workCut, ExactScale);
                e.Decimal(7, "cutByCompanyCap", companyCut, ExactScale);
                e.Decimal(8, "exactAmount", exact, ExactScale);
                e.Strings(9, "caps", l.Caps);
                e.Bool(10, "shortFilmsPool", l.ShortFilmsPool);
                e.End();
            }
            e.End();
        }
    }

    /// <summary>
    /// A work's statement (contributi.v1.WorkStatement), as <see cref="Work(WorkOutcome)"/> fills it; its
    /// co-production status (some works) through <paramref name="coproduction"/>, one message rewritten.
    /// </summary>
    private static void Work(Encoder e, WorkOutcome w, V1.CoproductionStatus coproduction)
    {
        e.String(1, "workId", w.Id);
        e.String(2, "title", w.Title);
        e.Bool(3, "scoredHere", w.ScoredHere);
        e.Decimal(4, "amount", w.Amount, 2);
        for (var i = 0; i < w.Claims.Count; i++)
        {
            var c = w.Claims[i];
            var (before, workCut, companyCut, exact) = Account.Written(c);
            e.Begin(5, "claims", repeated: true);
            e.String(1, "companyId", c.CompanyId);
            e.Enum(2, "role", (int)c.Role, RoleType);
            e.Decimal(3, "rightsSharePercent", c.SharePercent, ExactScale);
            e.String(4, "quotaId", c.QuotaId);
            e.Decimal(5, "points", c.Points, ExactScale);
            e.Decimal(6, "exactAmount", exact, ExactScale);
            e.Bool(7, "workCapped", c.WorkCapped);
            e.Bool(8, "companyCapped", c.CompanyCapped);
            e.Bool(9, "shortFilmsPool", c.ShortFilmsPool);
            e.Decimal(10, "beforeCaps", before, ExactScale);
            e.Decimal(11, "cutByWorkCap", workCut, ExactScale);
            e.Decimal(12, "cutByCompanyCap", companyCut, ExactScale);
            e.End();
        }
        // One object for a work's shares (AuthorShares) or a list of them: each read through the list, no share made per category
        // for the first.
        if (w.AuthorShares is AuthorShares same)
        {
            var d = same.Definition;
            for (var i = 0; i < d.Categories.Count; i++) Share(e, d.Categories[i], d.Percent, same.Amount, d.Citation);
        }
        else
            for (var i = 0; i < w.AuthorShares.Count; i++)
            {
                var a = w.AuthorShares[i];
                Share(e, a.Category, a.Percent, a.Amount, a.Citation);
            }
        e.Strings(7, "provisionalRows", w.ProvisionalRows);
        e.Strings(8, "missingRows", w.MissingRows);
        if (w.Coproduction is { } cp) e.Message(9, "coproduction", ResponseMapper.Coproduction(cp, coproduction));

        static void Share(Encoder e, string category, decimal percent, decimal amount, string citation)
        {
            e.Begin(6, "authorShares", repeated: true);
            e.String(1, "category", category);
            e.Decimal(2, "percent", percent, ExactScale);
            e.Decimal(3, "amount", amount, 2);
            e.String(4, "citation", citation);
            e.End();
        }
    }

    /// <summary>An exclusion (contributi.v1.Exclusion), as <see cref="ResponseMapper.Exclusion"/> makes it.</summary>
    internal static void Exclusion(Encoder e, Exclusion x)
    {
        e.String(1, "companyId", x.CompanyId);
        e.String(2, "workId", x.WorkId);
        e.Enum(3, "role", x.Role is { } r ? (int)r : 0, RoleType);
        e.String(4, "field", x.Field);
        e.String(5, "article", x.Article);
        e.String(6, "reason", x.Reason);
    }

    /// <summary>The strings of <paramref name="from"/> in <paramref name="into"/>, one by one (no boxed enumerator).</summary>
    private static void Strings(Google.Protobuf.Collections.RepeatedField<string> into, IReadOnlyList<string> from)
    {
        into.Clear();
        for (var i = 0; i < from.Count; i++) into.Add(from[i]);
    }

    /// <summary>A new message added at the end of <paramref name="field"/>.</summary>
    private static T Added<T>(Google.Protobuf.Collections.RepeatedField<T> field) where T : class, new()
    {
        var message = new T();
        field.Add(message);
        return message;
    }
}
