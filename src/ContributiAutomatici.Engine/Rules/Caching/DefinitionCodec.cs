using System.Text;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// A parsed rule-set folder (<see cref="RuleSetDefinition"/>, everything <see cref="RuleFileParser.Parse"/> returns) as
/// bytes and back, for <see cref="DefinitionCache"/>: a warm start reads its folders' definitions from these bytes instead of
/// parsing and checking the YAML again. Plain <see cref="BinaryWriter"/> fields in a fixed order, no reflection and no
/// generic collection over a value type (the point is to start fast: this code is ReadyToRun-compiled, the YAML reader's
/// generic instantiations are not). The format has no version of its own: the cache key holds the engine build, so bytes
/// written by another build are never read. The paths of the rule files are kept relative to the folder and rebased on the
/// folder the rules are read from. A malformed input throws <see cref="InvalidDataException"/> (or an end of stream).
/// </summary>
internal static class DefinitionCodec
{
    /// <summary>Largest count of anything read back (rows, entries, ...); more means the bytes are not ours.</summary>
    private const int MaxCount = 1_000_000;

    public static void Write(BinaryWriter writer, RuleSetDefinition def) => new Writer(writer, def.Directory).RuleSet(def);

    public static RuleSetDefinition Read(BinaryReader reader, string directory) => new Reader(reader, directory).RuleSet();

    /// <summary>What a path of the folder starts with: the folder and its separator.</summary>
    private static string FolderPrefix(string directory) => System.IO.Path.Combine(directory, "x")[..^1];

    private sealed class Writer(BinaryWriter w, string directory)
    {
        private readonly string _prefix = FolderPrefix(directory);

        public void RuleSet(RuleSetDefinition d)
        {
            Str(d.Id); Str(d.Title); Str(d.Decree); w.Write((int)d.Kind); OptStr(d.Patches);
            Date(d.InForceFrom); OptDate(d.InForceTo); w.Write(d.ApplicationYearFrom); OptInt(d.ApplicationYearTo);
            Count(d.Quotas.Count); foreach (var q in d.Quotas) Quota(q);
            Count(d.Tables.Count); foreach (var t in d.Tables) Table(t);
            Count(d.Lists.Count); foreach (var l in d.Lists) List(l);
            Count(d.Policies.Count); foreach (var (k, v) in d.Policies) { Str(k); Str(v); }
            Str(d.ContentHash); OptDate(d.AdmissibleResultsFrom); Str(d.AdmissibleResultsCitation);
            w.Write(d.Allocation is not null); if (d.Allocation is { } a) Allocation(a);
            w.Write(d.Overlay is not null); if (d.Overlay is { } o) Overlay(o);
            OptLocation(d.YearsLocation); OptLocation(d.PatchesLocation); OptStr(d.Supersedes);
            Strs(d.AppliedOverlays);
            Count(d.Quantities.Count);
            foreach (var q in d.Quantities)
            {
                Str(q.Name); Str(q.Label); Str(q.Citation); Location(q.Location);
                Count(q.Terms.Count);
                foreach (var t in q.Terms)
                {
                    Expr(t.Expr); w.Write(t.Subtract); OptStr(t.OverlayId); Str(t.Citation);
                    w.Write(t.Window is not null); if (t.Window is { } tw) { Date(tw.From); Date(tw.To); }
                }
            }
        }

        private void Quota(QuotaDefinition q)
        {
            Str(q.Id); Str(q.Title); w.Write(q.SharePercent); OptStr(q.ParentId); w.Write(q.Reserved); Str(q.Citation);
            Location(q.Location); OptDec(q.ShortFilmsLimitPercent);
        }

        private void Table(TableDefinition t)
        {
            Str(t.Id); Str(t.Title); Str(t.Citation); OptExpr(t.Applies); Path(t.File);
            Count(t.Sections.Count);
            foreach (var s in t.Sections)
            {
                Str(s.Id); Str(s.Title); OptExpr(s.When); Location(s.Location);
                Count(s.Rows.Count); foreach (var r in s.Rows) Row(r);
            }
        }

        private void Row(RowDefinition r)
        {
            Str(r.Id); Str(r.Label); Str(r.Citation); Str(r.TableId); Str(r.SectionId); Str(r.QuotaId); OptExpr(r.When);
            Strs(r.BasePatterns); OptInt((int?)r.BaseRole); w.Write(r.WholePoints);
            Count(r.Cells.Count);
            foreach (var c in r.Cells) { w.Write((int)c.Role); OptExpr(c.When); Expr(c.Points); Location(c.Location); }
            Location(r.Location); Figures(r.Figures); w.Write((int)r.Provenance); OptStr(r.Borrows);
            w.Write(r.Windowed is not null);
            if (r.Windowed is { } wf) { Str(wf.OverlayId); Date(wf.From); Date(wf.To); Figures(wf.Figures); Str(wf.Citation); }
            w.Write(r.Window is not null);
            if (r.Window is { } win) { Date(win.From); Date(win.To); }
            Strs(r.PatchedBy); OptStr(r.ReplacedBy);
        }

        private void List(ListDefinition l)
        {
            Str(l.Kind); Str(l.Title); Str(l.Citation); Path(l.File);
            Count(l.Entries.Count);
            foreach (var e in l.Entries)
            {
                Str(e.Id); Str(e.Name); OptStr(e.Band); Str(e.Category); w.Write(e.IncrementPercent); Str(e.Citation); Location(e.Location);
                Facts(e.ForWorks); Facts(e.NotForWorks); OptDate(e.InForceFrom); OptStr(e.Note);
            }
            OptStr(l.Borrows); Strs(l.Removes); OptLocation(l.BorrowsLocation);
            Count(l.Groups.Count);
            foreach (var g in l.Groups) { Str(g.Name); Str(g.Label); Str(g.Citation); Strs(g.Ids); Location(g.Location); }
        }

        private void Facts(WorkFacts? f)
        {
            w.Write(f is not null);
            if (f is null) return;
            Count(f.Facts.Count);
            foreach (var (k, v) in f.Facts) { Str(k); w.Write(v); }
        }

        private void Allocation(AllocationDefinition a)
        {
            w.Write((int)a.DefaultExcess); Cited(a.WorkCap); Cited(a.CompanyCap); Cited(a.CreditExpiryYears);
            w.Write(a.AuthorsShares is not null);
            if (a.AuthorsShares is { } s)
            {
                w.Write(s.Percent); Strs(s.Categories);
                Count(s.Roles.Count); foreach (var r in s.Roles) w.Write((int)r);
                Str(s.Citation);
            }
            Count(a.Applicants.Count);
            foreach (var (role, ap) in a.Applicants)
            {
                w.Write((int)role); Strs(ap.Ateco);
                Count(ap.IndependentFor.Count); foreach (var k in ap.IndependentFor) w.Write((int)k);
                Str(ap.Citation);
            }
            Str(a.EeaSeatCitation);
            w.Write(a.NetWorthMinimum is not null); if (a.NetWorthMinimum is { } n) Cited(n);
            OptDec(a.NetWorthMinimumShortFilms); Str(a.EligibleWorksCitation);
            w.Write(a.Coproduction is not null);
            if (a.Coproduction is { } c)
            {
                w.Write(c.MinimumShare); w.Write(c.ReducedShare); w.Write(c.ReducedFromCost); Str(c.Citation);
                w.Write(c.Categories is not null);
                if (c.Categories is { } k)
                {
                    Str(k.HomeCountry); Str(k.Agreements); Str(k.Conventions); Str(k.CoproductionCitation); Str(k.ParticipationCitation);
                    Str(k.InternationalProductionCitation); Str(k.MultilateralCitation);
                }
            }
            Str(a.RightsSharesCitation);
            w.Write(a.FirstExploitation is not null);
            if (a.FirstExploitation is { } f) { Str(f.NotYetCitation); Str(f.OtherYearCitation); w.Write(f.TooEarlyYears); Str(f.TooEarlyCitation); }
            Str(a.DeclaredOnceCitation); Str(a.NotYetObtainedCitation);
        }

        private void Overlay(OverlayDefinition o)
        {
            Str(o.Patches); w.Write(o.OnByDefault); Date(o.From); Date(o.To);
            Count(o.Rows.Count);
            foreach (var p in o.Rows)
            {
                Str(p.RowId); w.Write((int)p.Action); Str(p.Citation); Figures(p.Figures);
                w.Write(p.Row is not null); if (p.Row is { } r) Row(r);
                OptStr(p.After); Location(p.Location); Str(p.Reason);
            }
            Count(o.Quantities.Count);
            foreach (var q in o.Quantities) { Str(q.Name); w.Write((int)q.Action); Str(q.Label); Str(q.Citation); Expr(q.Expr); Location(q.Location); }
        }

        private void Cited(CitedFigure f) { w.Write(f.Value); Str(f.Citation); }

        private void Figures(IReadOnlyList<Figure> figures)
        {
            Count(figures.Count);
            foreach (var f in figures)
            {
                Str(f.Name); w.Write(f.Value); Str(f.Unit); Str(f.Citation); Location(f.Location); OptStr(f.Ref); OptLocation(f.ResolvedFrom);
                w.Write(f.Bands is not null);
                if (f.Bands is { } bands) { Count(bands.Count); foreach (var (upTo, per) in bands) { Str(upTo); Str(per); } }
            }
        }

        private void Expr(RuleExpression e) { Str(e.Text); Location(e.Location); w.Write(e.LineOffset); w.Write(e.FileLines); }
        private void OptExpr(RuleExpression? e) { w.Write(e is not null); if (e is not null) Expr(e); }
        private void Location(SourceLocation l) { Path(l.File); w.Write(l.Line); w.Write(l.Column); }
        private void OptLocation(SourceLocation? l) { w.Write(l is not null); if (l is not null) Location(l); }

        /// <summary>A path of the folder as the name inside it (rebased when read), any other as written.</summary>
        private void Path(string path)
        {
            var inside = path.StartsWith(_prefix, StringComparison.Ordinal);
            w.Write(inside);
            Str(inside ? path[_prefix.Length..] : path);
        }

        private void Str(string s) => w.Write(s);
        private void OptStr(string? s) { w.Write(s is not null); if (s is not null) w.Write(s); }
        private void Strs(IReadOnlyList<string> list) { Count(list.Count); foreach (var s in list) w.Write(s); }
        private void Count(int n) => w.Write(n);
        private void OptInt(int? n) { w.Write(n.HasValue); if (n is { } v) w.Write(v); }
        private void OptDec(decimal? d) { w.Write(d.HasValue); if (d is { } v) w.Write(v); }
        private void Date(DateOnly d) => w.Write(d.DayNumber);
        private void OptDate(DateOnly? d) { w.Write(d.HasValue); if (d is { } v) w.Write(v.DayNumber); }
    }

    private sealed class Reader(BinaryReader r, string directory)
    {
        private readonly string _prefix = FolderPrefix(directory);

        public RuleSetDefinition RuleSet()
        {
            var id = Str(); var title = Str(); var decree = Str(); var kind = (RuleSetKind)EnumValue(typeof(RuleSetKind)); var patches = OptStr();
            var from = Date(); var to = OptDate(); var yearFrom = r.ReadInt32(); var yearTo = OptInt();
            var quotas = Many(Quota);
            var tables = Many(Table);
            var lists = Many(List);
            var policies = new Dictionary<string, string>();
            for (var n = Count(); n > 0; n--) policies[Str()] = Str();
            var hash = Str(); var admissibleFrom = OptDate(); var admissibleCite = Str();
            var allocation = r.ReadBoolean() ? Allocation() : null;
            var overlay = r.ReadBoolean() ? Overlay() : null;
            var yearsAt = OptLocation(); var patchesAt = OptLocation(); var supersedes = OptStr();
            var applied = Strs();
            var quantities = Many(() =>
            {
                var (name, label, cite, at) = (Str(), Str(), Str(), Location());
                var terms = Many(() =>
                {
                    var (expr, subtract, overlay, tcite) = (Expr(), r.ReadBoolean(), OptStr(), Str());
                    (DateOnly From, DateOnly To)? window = r.ReadBoolean() ? (Date(), Date()) : null;
                    return new QuantityTerm(expr, subtract, overlay, window, tcite);
                });
                return new QuantityDefinition(name, label, cite, terms, at);
            });
            return new RuleSetDefinition(id, title, decree, kind, patches, from, to, yearFrom, yearTo, quotas, tables, lists,
                policies, directory, hash, admissibleFrom, admissibleCite, allocation)
            {
                Overlay = overlay, YearsLocation = yearsAt, PatchesLocation = patchesAt, Supersedes = supersedes, AppliedOverlays = applied,
                Quantities = quantities,
            };
        }

        private QuotaDefinition Quota() =>
            new(Str(), Str(), r.ReadDecimal(), OptStr(), r.ReadBoolean(), Str(), Location(), OptDec());

        private TableDefinition Table()
        {
            var id = Str(); var title = Str(); var cite = Str(); var applies = OptExpr(); var file = Path();
            var sections = Many(() =>
            {
                var (sid, stitle, swhen, sat) = (Str(), Str(), OptExpr(), Location());
                return new SectionDefinition(sid, stitle, swhen, Many(Row), sat);
            });
            return new TableDefinition(id, title, cite, applies, sections, file);
        }

        private RowDefinition Row()
        {
            var id = Str(); var label = Str(); var cite = Str(); var table = Str(); var section = Str(); var quota = Str();
            var when = OptExpr(); var bases = Strs(); var baseRole = r.ReadBoolean() ? ReadRole() : (Role?)null; var whole = r.ReadBoolean();
            var cells = Many(() => new CellDefinition(ReadRole(), OptExpr(), Expr(), Location()));
            var location = Location(); var figures = Figures(); var provenance = (Provenance)EnumValue(typeof(Provenance)); var borrows = OptStr();
            var windowed = r.ReadBoolean() ? new WindowedFigures(Str(), Date(), Date(), Figures(), Str()) : null;
            (DateOnly From, DateOnly To)? window = r.ReadBoolean() ? (Date(), Date()) : null;
            return new RowDefinition(id, label, cite, table, section, quota, when, bases, baseRole, whole, cells, location)
            {
                Figures = figures, Provenance = provenance, Borrows = borrows, Windowed = windowed, Window = window, PatchedBy = Strs(),
                ReplacedBy = OptStr(),
            };
        }

        private ListDefinition List()
        {
            var kind = Str(); var title = Str(); var cite = Str(); var file = Path();
            var entries = Many(() => new ListEntry(Str(), Str(), OptStr(), Str(), r.ReadDecimal(), Str(), Location())
            {
                ForWorks = Facts(), NotForWorks = Facts(), InForceFrom = OptDate(), Note = OptStr(),
            });
            return new ListDefinition(kind, title, cite, file, entries)
            {
                Borrows = OptStr(), Removes = Strs(), BorrowsLocation = OptLocation(),
                Groups = Many(() => new ListGroup(Str(), Str(), Str(), Strs(), Location())),
            };
        }

        private WorkFacts? Facts()
        {
            if (!r.ReadBoolean()) return null;
            var facts = new Dictionary<string, bool>();
            for (var n = Count(); n > 0; n--) facts[Str()] = r.ReadBoolean();
            return new WorkFacts(facts);
        }

        private AllocationDefinition Allocation()
        {
            var excess = (Allocation.ExcessPolicy)EnumValue(typeof(Allocation.ExcessPolicy)); var workCap = Cited(); var companyCap = Cited(); var expiry = Cited();
            AuthorsSharesDefinition? authors = null;
            if (r.ReadBoolean())
            {
                var percent = r.ReadDecimal(); var categories = Strs();
                var roles = new Role[Count()];
                for (var i = 0; i < roles.Length; i++) roles[i] = ReadRole();
                authors = new AuthorsSharesDefinition(percent, categories, new EnumSet<Role>(roles), Str());
            }
            var applicantRoles = new Role[Count()];
            var applicants = new ApplicantRoleDefinition[applicantRoles.Length];
            for (var i = 0; i < applicantRoles.Length; i++)
            {
                applicantRoles[i] = ReadRole();
                var ateco = Strs();
                var kinds = new WorkKind[Count()];
                for (var k = 0; k < kinds.Length; k++) kinds[k] = ReadWorkKind();
                applicants[i] = new ApplicantRoleDefinition(ateco, new EnumSet<WorkKind>(kinds), Str());
            }
            var eea = Str();
            var netWorth = r.ReadBoolean() ? Cited() : null;
            var netWorthShorts = OptDec(); var eligible = Str();
            var coproduction = r.ReadBoolean() ? new CoproductionThreshold(r.ReadDecimal(), r.ReadDecimal(), r.ReadDecimal(), Str())
            {
                Categories = r.ReadBoolean() ? new CoproductionCategories(Str(), Str(), Str(), Str(), Str(), Str(), Str()) : null,
            } : null;
            var rights = Str();
            var first = r.ReadBoolean() ? new FirstExploitationDefinition(Str(), Str(), r.ReadInt32(), Str()) : null;
            return new AllocationDefinition(excess, workCap, companyCap, expiry, authors, new EnumMap<Role, ApplicantRoleDefinition>(applicantRoles, applicants),
                eea, netWorth, netWorthShorts,
                eligible, coproduction, rights, first, Str(), Str());
        }

        private OverlayDefinition Overlay() =>
            new(Str(), r.ReadBoolean(), Date(), Date(),
                Many(() => new RowPatch(Str(), (PatchAction)EnumValue(typeof(PatchAction)), Str(), Figures(), r.ReadBoolean() ? Row() : null, OptStr(), Location()) { Reason = Str() }))
            {
                Quantities = Many(() => new QuantityPatch(Str(), (QuantityAction)EnumValue(typeof(QuantityAction)), Str(), Str(), Expr(), Location())),
            };

        private CitedFigure Cited() => new(r.ReadDecimal(), Str());

        private List<Figure> Figures() => Many(() => new Figure(Str(), r.ReadDecimal(), Str(), Str(), Location())
        {
            Ref = OptStr(), ResolvedFrom = OptLocation(), Bands = r.ReadBoolean() ? Many(() => (Str(), Str())) : null,
        });

        private RuleExpression Expr() => new(Str(), Location(), r.ReadInt32(), r.ReadBoolean());
        private RuleExpression? OptExpr() => r.ReadBoolean() ? Expr() : null;
        private SourceLocation Location() => new(Path(), r.ReadInt32(), r.ReadInt32());
        private SourceLocation? OptLocation() => r.ReadBoolean() ? Location() : null;
        private string Path() => r.ReadBoolean() ? _prefix + Str() : Str();

        private List<T> Many<T>(Func<T> item)
        {
            var n = Count();
            var list = new List<T>(Math.Min(n, 1024));
            for (var i = 0; i < n; i++) list.Add(item());
            return list;
        }

        private int Count()
        {
            var n = r.ReadInt32();
            return n is >= 0 and <= MaxCount ? n : throw new InvalidDataException($"count {n} out of range");
        }

        private Role ReadRole() => (Role)EnumValue(typeof(Role));
        private WorkKind ReadWorkKind() => (WorkKind)EnumValue(typeof(WorkKind));

        private int EnumValue(Type type)
        {
            var v = r.ReadInt32();
            return System.Enum.IsDefined(type, v) ? v : throw new InvalidDataException($"{type.Name} {v} out of range");
        }

        private string Str() => r.ReadString();
        private string? OptStr() => r.ReadBoolean() ? r.ReadString() : null;
        private List<string> Strs() => Many(Str);
        private int? OptInt() => r.ReadBoolean() ? r.ReadInt32() : null;
        private decimal? OptDec() => r.ReadBoolean() ? r.ReadDecimal() : null;

        private DateOnly Date()
        {
            var day = r.ReadInt32();
            return day is >= 0 and <= 3652058 ? DateOnly.FromDayNumber(day) : throw new InvalidDataException($"day {day} out of range");
        }

        private DateOnly? OptDate() => r.ReadBoolean() ? Date() : null;
    }
}
