using System.Globalization;
using ContributiAutomatici.Protocol;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Ledger;

/// <summary>Between the contributi.v1 ledger messages and the ledger: requests read strictly (a bad field is a refusal naming it), results written.</summary>
public static class LedgerMapper
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A money amount as the contract writes it: euro with two decimals, "1926022.61".</summary>
    public static string Money(decimal d) => d.ToString("0.00", Inv);

    /// <summary>A date of a request, or <paramref name="fallback"/> when absent; not a calendar date is INVALID_ARGUMENT naming the field.</summary>
    public static DateOnly Date(Google.Type.Date? d, string field, DateOnly fallback)
    {
        var errors = new List<FieldError>();
        var date = RequestMapper.Date(d, field, errors);
        if (errors.Count > 0) throw new LedgerRefusal(RefusalKind.InvalidArgument, field, "art. 12.1", errors[0].Description);
        return date ?? fallback;
    }

    /// <summary>A decimal string of a request: absent is 0 when <paramref name="required"/> is false.</summary>
    public static decimal Amount(string s, string field, string article, bool required = true)
    {
        if (s.Length == 0 && !required) return 0m;
        if (decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, Inv, out var d)) return d;
        throw new LedgerRefusal(RefusalKind.InvalidArgument, field, article, $"a decimal string in euro (\"12500.00\"), got '{Cut(s)}'");
    }

    private static string Cut(string s) => s.Length <= 60 ? s : s[..60] + "…";

    public static DrawRequest Draw(V1.ReinvestRequest r, DateOnly today) =>
        new(r.CompanyId, Date(r.RequestedOn, "requested_on", today), r.NewWorkId, r.WorkKind, r.ShortFilm, r.Use,
            Amount(r.Cost, "cost", "art. 15.1"), Amount(r.OtherPublicAid, "other_public_aid", "art. 15.1", required: false),
            Amount(r.Amount, "amount", "art. 13.1"), Amount(r.NetWorth, "net_worth", "art. 14.2"), r.AuthorsSharesDocumented)
        {
            Gber547a = r.GberArt547A,
            DifficultWork = r.DifficultWork.Length == 0 ? null : r.DifficultWork,
            Coproducers = r.Coproducers.Select(c => new Coproducer(c.Country, c.DacListed)).ToList(),
            Stage = r.Stage,
            IdempotencyKey = r.IdempotencyKey.Length == 0 ? null : r.IdempotencyKey,
        };

    public static V1.PostAllocationResponse Posted(PostResult r) => new()
    {
        PostingId = r.PostingId, Applied = r.Applied, AllocationHash = r.AllocationHash, ApplicationYear = r.ApplicationYear,
        CreditingYear = r.CreditingYear, Credits = r.Credits, Total = Money(r.Total), AuthorsSetAside = Money(r.AuthorsSetAside),
        SupersededPostingId = r.Superseded ?? "", Reversed = Money(r.Reversed), Message = r.Message,
    };

    public static V1.Statement Statement(Statement s)
    {
        var m = new V1.Statement
        {
            CompanyId = s.CompanyId, CompanyName = s.CompanyName, At = ResponseMapper.Date(s.At), Credited = Money(s.Credited),
            Reversed = Money(s.Reversed), Drawn = Money(s.Drawn), Lapsed = Money(s.Lapsed), AuthorsSetAside = Money(s.AuthorsSetAside),
            Available = Money(s.Available), Held = Money(s.Held), Entries = s.Entries,
        };
        m.Lines.AddRange(s.Lines.Select(l => new V1.StatementLine
        {
            CreditId = l.CreditId, PostingId = l.PostingId, WorkId = l.WorkId, WorkTitle = l.WorkTitle, QuotaId = l.QuotaId,
            CreditingYear = l.CreditingYear, ExpiresOn = ResponseMapper.Date(l.ExpiresOn), UseByYear = l.UseByYear, Credited = Money(l.Credited),
            Reversed = Money(l.Reversed), Drawn = Money(l.Drawn), Lapsed = Money(l.Lapsed), AuthorsSetAside = Money(l.AuthorsSetAside),
            Available = Money(l.Available), Held = Money(l.Held),
        }));
        m.Draws.AddRange(s.Draws.Select(d => new V1.StatementDraw
        {
            DrawId = d.DrawId, RequestedOn = ResponseMapper.Date(d.RequestedOn), NewWorkId = d.NewWorkId, Use = d.Use, Stage = d.Stage,
            Amount = Money(d.Amount),
        }));
        return m;
    }

    public static V1.GetBalanceResponse Balance(Statement s)
    {
        var m = new V1.GetBalanceResponse
        {
            CompanyId = s.CompanyId, At = ResponseMapper.Date(s.At), Held = Money(s.Held), Available = Money(s.Available),
            AuthorsSetAside = Money(s.AuthorsSetAside),
        };
        m.Years.AddRange(s.Lines.GroupBy(l => (l.CreditingYear, l.UseByYear)).OrderBy(g => g.Key).Select(g => new V1.YearBalance
        {
            CreditingYear = g.Key.CreditingYear, UseByYear = g.Key.UseByYear, Held = Money(g.Sum(l => l.Held)), Available = Money(g.Sum(l => l.Available)),
        }));
        return m;
    }

    public static V1.ReinvestResponse Drawn(DrawResult r)
    {
        var m = new V1.ReinvestResponse
        {
            DrawId = r.DrawId, Applied = r.Applied, CompanyId = r.CompanyId, NewWorkId = r.NewWorkId, Amount = Money(r.Amount),
            CeilingPercent = r.CeilingPercent.ToString(Inv), CeilingArticle = r.CeilingArticle, AidTotal = Money(r.AidTotal),
            AidCeiling = Money(r.AidCeiling), Policy = r.Policy, AvailableAfter = Money(r.AvailableAfter),
        };
        m.DrawnFrom.AddRange(r.From.Select(CreditAmount));
        return m;
    }

    public static V1.LapseReport Lapsed(ExpireResult r)
    {
        var m = new V1.LapseReport { OperationId = r.OperationId, Applied = r.Applied, On = ResponseMapper.Date(r.On), Article = r.Article, Total = Money(r.Total) };
        m.Companies.AddRange(r.Companies.Select(c =>
        {
            var cl = new V1.CompanyLapse { CompanyId = c.CompanyId, Amount = Money(c.Amount) };
            cl.Credits.AddRange(c.Credits.Select(CreditAmount));
            return cl;
        }));
        return m;
    }

    private static V1.CreditAmount CreditAmount(CreditAmount x) => new()
    {
        CreditId = x.CreditId, WorkId = x.WorkId, QuotaId = x.QuotaId, CreditingYear = x.CreditingYear,
        ExpiresOn = ResponseMapper.Date(x.ExpiresOn), Amount = Money(x.Amount),
    };
}
