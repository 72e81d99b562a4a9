using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

public static partial class RuleFileParser
{
    /// <summary>The excess policies the allocation knows (reading guide 2).</summary>
    public static readonly IReadOnlySet<string> ExcessPolicies = new HashSet<string> { "unassigned", "redistribute" };

    /// <summary>A named excess policy ("unassigned", "redistribute") as the allocation reads it.</summary>
    public static Allocation.ExcessPolicy ExcessPolicyOf(string name) =>
        name == "redistribute" ? Allocation.ExcessPolicy.Redistribute : Allocation.ExcessPolicy.Unassigned;

    private static readonly Dictionary<string, WorkKind> KindNames = new() { ["cinema"] = WorkKind.Cinema, ["tv_web"] = WorkKind.TvWeb };

    /// <summary>The manifest's <c>allocation</c> block: figures and citations the yearly allocation reads.</summary>
    private static AllocationDefinition? ParseAllocation(YamlFile yf, YamlMap a, IReadOnlyDictionary<string, string> policies)
    {
        var before = yf.ErrorCount;
        var excessName = policies.GetValueOrDefault("excess", "unassigned");
        if (!ExcessPolicies.Contains(excessName))
            yf.Error(a.Node, $"policies.excess must be one of {string.Join(", ", ExcessPolicies)}, got '{excessName}'");
        var excess = ExcessPolicyOf(excessName);

        CitedFigure? Figure(YamlMap m, string key, YamlKeys keys, string valueKey, bool required)
        {
            var node = m.Node_(key);
            if (node is null)
            {
                if (required) yf.Error(m.Node, $"missing required field '{key}'");
                return null;
            }
            if (yf.Map(node, key, keys) is not { } f) return null;
            var value = f.Dec(valueKey, required: true);
            var cite = f.Str("cite", required: true);
            f.Done(key);
            return value is { } v && cite is not null ? new CitedFigure(v, cite) : null;
        }

        var workCap = Figure(a, "work_cap", Keys.Cap, "percent", true);
        var companyCap = Figure(a, "company_cap", Keys.Cap, "percent", true);
        var expiry = Figure(a, "credit_expiry", Keys.Expiry, "years", true);
        foreach (var (name, f) in new[] { ("work_cap", workCap), ("company_cap", companyCap) })
            if (f is { Value: <= 0 or > 100 }) yf.Error(a.Node_(name)!, $"{name}.percent must be above 0 and at most 100, got {f.Value}");

        AuthorsSharesDefinition? authors = null;
        if (yf.Map(a.Node_("authors_shares"), "authors_shares", Keys.AuthorsShares) is { } am)
        {
            var pct = am.Dec("percent", required: true) ?? 0;
            var categories = am.StrList("categories");
            var roles = new HashSet<Role>();
            foreach (var r in am.StrList("roles"))
                if (RoleNames.ByKey.TryGetValue(r, out var role)) roles.Add(role);
                else yf.Error(am.Node_("roles")!, Keys.UnknownRole(r));
            if (categories.Count == 0) yf.Error(am.Node, "authors_shares needs its categories");
            authors = new AuthorsSharesDefinition(pct, categories, new EnumSet<Role>(roles), am.Str("cite", required: true) ?? "");
            am.Done("authors_shares");
        }

        var applicants = new Dictionary<Role, ApplicantRoleDefinition>();
        var eeaCite = "";
        if (yf.Map(a.Node_("applicants"), "applicants", Keys.Applicants) is { } ap)
        {
            eeaCite = ap.Str("eea_seat", required: true) ?? "";
            foreach (var (key, role) in RoleNames.ByKey)
            {
                if (yf.Map(ap.Node_(key), key, Keys.Applicant) is not { } rm) continue;
                var ateco = rm.StrList("ateco");
                if (ateco.Count == 0) yf.Error(rm.Node, $"applicants.{key} needs its ATECO codes");
                var kinds = new HashSet<WorkKind>();
                foreach (var k in rm.StrList("independent_for"))
                    if (KindNames.TryGetValue(k, out var kind)) kinds.Add(kind);
                    else yf.Error(rm.Node_("independent_for")!, $"unknown work kind '{k}' (one of {string.Join(", ", KindNames.Keys)})");
                applicants[role] = new ApplicantRoleDefinition(ateco, new EnumSet<WorkKind>(kinds), rm.Str("cite", required: true) ?? "");
                rm.Done($"applicants.{key}");
            }
            ap.Done("applicants");
        }
        else yf.Error(a.Node, "missing required field 'applicants' (who may claim in each role, art. 4)");

        CitedFigure? netWorth = null;
        decimal? netWorthShorts = null;
        if (yf.Map(a.Node_("net_worth"), "net_worth", Keys.NetWorth) is { } nw)
        {
            netWorth = new CitedFigure(nw.Dec("minimum", required: true) ?? 0, nw.Str("cite", required: true) ?? "");
            netWorthShorts = nw.Dec("short_films");
            nw.Done("net_worth");
        }

        string eligible = "", rightsShares = "";
        CoproductionThreshold? copro = null;
        if (yf.Map(a.Node_("works"), "works", Keys.Works) is { } wm)
        {
            eligible = wm.Str("eligible", required: true) ?? "";
            rightsShares = wm.Str("rights_shares", required: true) ?? "";
            if (yf.Map(wm.Node_("coproduction"), "coproduction", Keys.Coproduction) is { } cm)
            {
                copro = new CoproductionThreshold(cm.Dec("minimum_share", required: true) ?? 0, cm.Dec("reduced_share", required: true) ?? 0,
                    cm.Dec("reduced_from_cost", required: true) ?? 0, cm.Str("cite", required: true) ?? "");
                if (yf.Map(cm.Node_("categories"), "categories", Keys.CoproductionCategories) is { } km)
                {
                    copro = copro with
                    {
                        Categories = new CoproductionCategories(km.Str("home_country", required: true) ?? "", km.Str("agreements", required: true) ?? "",
                            km.Str("conventions", required: true) ?? "", km.Str("coproduzione", required: true) ?? "",
                            km.Str("compartecipazione", required: true) ?? "", km.Str("produzione_internazionale", required: true) ?? "",
                            km.Str("multilaterale", required: true) ?? ""),
                    };
                    km.Done("categories");
                }
                cm.Done("coproduction");
            }
            wm.Done("works");
        }
        else yf.Error(a.Node, "missing required field 'works' (admissibility of works, art. 5)");

        FirstExploitationDefinition? first = null;
        string once = "", notYet = "";
        if (yf.Map(a.Node_("results"), "results", Keys.Results) is { } rs)
        {
            once = rs.Str("declared_once", required: true) ?? "";
            notYet = rs.Str("not_yet_obtained", required: true) ?? "";
            if (yf.Map(rs.Node_("first_exploitation"), "first_exploitation", Keys.FirstExploitation) is { } fe)
            {
                first = new FirstExploitationDefinition(fe.Str("not_yet_exploited", required: true) ?? "",
                    fe.Str("other_year", required: true) ?? "", fe.Int("too_early_years", required: true) ?? 0,
                    fe.Str("too_early", required: true) ?? "");
                fe.Done("first_exploitation");
            }
            rs.Done("results");
        }
        else yf.Error(a.Node, "missing required field 'results' (admissibility of results, art. 5)");
        a.Done("allocation");

        if (yf.ErrorCount > before || workCap is null || companyCap is null || expiry is null) return null;
        return new AllocationDefinition(excess, workCap, companyCap, expiry, authors,
            new EnumMap<Role, ApplicantRoleDefinition>([.. applicants.Keys], [.. applicants.Values]), eeaCite, netWorth, netWorthShorts,
            eligible, copro, rightsShares, first, once, notYet);
    }
}
