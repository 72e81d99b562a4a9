using System.Data.Common;
using System.Text.Json;

namespace ContributiAutomatici.Ledger;

public sealed partial class LedgerStore
{
    private static readonly string[] DifficultLetters = ["a", "b", "c", "d"];

    /// <summary>
    /// A draw on the fondo potenziale for a new work (arts. 13-15): refused, with the article, when the use is not allowed
    /// for the work's kind (14.1), the net worth is below the floor (14.2), the authors' shares are not documented (14.5),
    /// the public aid would pass the ceiling of art. 15, or the available balance is short (12.2); else it takes the
    /// oldest credits first (13.2), all in one transaction under the company's and the work's locks.
    /// </summary>
    public DrawResult Draw(DrawRequest request)
    {
        var rules = Rules;
        ValidateShape(request);
        var uses = rules.UsesByKind[request.WorkKind];
        if (!uses.Allowed.Contains(request.Use))
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "use", uses.Cite,
                $"a {request.WorkKind} work may draw for {string.Join(", ", uses.Allowed)}; not for {request.Use}");
        var floor = request.ShortFilm ? rules.NetWorthFloor.ShortFilms : rules.NetWorthFloor.Minimum;
        if (request.NetWorth < floor)
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "net_worth", rules.NetWorthFloor.Cite,
                $"the company's net worth in its last filed accounts is EUR {Eur(request.NetWorth)}, below the EUR {Eur(floor)} required" +
                (request.ShortFilm ? " for a short film" : ""));
        if (!request.AuthorsSharesDocumented)
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "authors_shares_documented", rules.AuthorsDocumented.Cite,
                $"the authors' shares of {rules.AuthorsShares.Cite} are not documented as paid: a reinvestment request is not admissible");
        var (ceiling, development) = Ceiling(request);

        var requestHash = Sha(JsonSerializer.Serialize(request with { IdempotencyKey = null }));
        using var c = _db.Open();
        using var tx = _db.BeginWrite(c);
        _db.Lock(tx, GlobalLock, shared: true);
        if (request.IdempotencyKey is { } key) _db.Lock(tx, "key:" + key);
        _db.Lock(tx, "company:" + request.CompanyId);
        _db.Lock(tx, "work:" + request.NewWorkId);
        if (Replay<DrawResult>(tx, request.IdempotencyKey, "draw", requestHash) is { } replayed) return replayed with { Applied = false };

        var earlier = Query(tx, "SELECT use, SUM(amount) FROM ledger_draws WHERE new_work_id = @w GROUP BY use",
            r => (Use: r.GetString(0), Amount: _db.Money(r.GetValue(1))), ("w", request.NewWorkId));
        var earlierAid = earlier.Where(x => !development || x.Use == LedgerRules.DevelopmentUse).Sum(x => x.Amount);
        var aid = request.Amount + request.OtherPublicAid + earlierAid;
        var aidCeiling = decimal.Round(request.Cost * ceiling.Percent_ / 100m, 2, MidpointRounding.ToZero);
        if (aid > aidCeiling)
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "amount", ceiling.Cite,
                $"public aid of EUR {Eur(aid)} (this draw EUR {Eur(request.Amount)}, other public aid EUR {Eur(request.OtherPublicAid)}, earlier draws " +
                $"for the work EUR {Eur(earlierAid)}) would exceed {ceiling.Percent_}% of the {(development ? "eligible development costs" : "work's cost")} " +
                $"EUR {Eur(request.Cost)}, EUR {Eur(aidCeiling)}");

        var credits = Drawable(tx, request.CompanyId, request.RequestedOn);
        var available = credits.Sum(x => x.Available);
        if (available < request.Amount)
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "amount", rules.BalanceRule.Cite,
                $"company {request.CompanyId} has EUR {Eur(available)} available on {request.RequestedOn:yyyy-MM-dd} in its fondo potenziale, " +
                $"less than the EUR {Eur(request.Amount)} requested");

        var left = request.Amount;
        var taken = new List<CreditAmount>();
        foreach (var x in credits)
        {
            if (left == 0) break;
            var take = Math.Min(left, x.Available);
            taken.Add(new CreditAmount(x.CreditId, x.WorkId, x.QuotaId, x.CreditingYear, x.ExpiresOn, take));
            left -= take;
        }
        var drawId = $"draw-{Guid.NewGuid():N}";
        var result = new DrawResult(drawId, true, request.CompanyId, request.NewWorkId, request.Amount, ceiling.Percent_, ceiling.Cite, aid, aidCeiling,
            $"{rules.Draws.Policy} ({rules.Draws.Cite})", taken, available - request.Amount);
        InsertOperation(tx, drawId, "draw", request.IdempotencyKey, requestHash, result);
        Execute(tx, """
            INSERT INTO ledger_draws (draw_id, company_id, new_work_id, work_kind, use, requested_on, amount, cost, other_public_aid, ceiling_percent, ceiling_article, stage)
            VALUES (@id, @c, @w, @k, @u, @on, @amount, @cost, @other, @pct, @art, @stage)
            """, ("id", drawId), ("c", request.CompanyId), ("w", request.NewWorkId), ("k", request.WorkKind), ("u", request.Use), ("on", request.RequestedOn),
            ("amount", _db.Money(request.Amount)), ("cost", _db.Money(request.Cost)), ("other", _db.Money(request.OtherPublicAid)),
            ("pct", ceiling.Percent_.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("art", ceiling.Cite), ("stage", request.Stage));
        _db.InsertEntries(tx, taken.Select(t => new NewEntry(t.CreditId, request.CompanyId, Available, "draw", -t.Amount, request.RequestedOn, drawId,
            uses.Cite)).ToList());
        tx.Commit();
        return result;
    }

    private sealed record DrawableCredit(long CreditId, string WorkId, string QuotaId, int CreditingYear, DateOnly ExpiresOn, decimal Available);

    /// <summary>The company's credits with money available on the date, posted by then and not past their deadline, oldest first.</summary>
    private List<DrawableCredit> Drawable(DbTransaction tx, string companyId, DateOnly on) => Query(tx, """
        SELECT c.credit_id, c.work_id, c.quota_id, c.crediting_year, c.expires_on, SUM(e.amount)
        FROM ledger_credits c JOIN ledger_postings p ON p.posting_id = c.posting_id
             JOIN ledger_entries e ON e.credit_id = c.credit_id AND e.bucket = 'available'
        WHERE c.company_id = @c AND c.expires_on >= @on AND p.posted_on <= @on
        GROUP BY c.credit_id, c.work_id, c.quota_id, c.crediting_year, c.expires_on
        HAVING SUM(e.amount) > 0
        ORDER BY c.crediting_year, c.expires_on, c.credit_id
        """, r => new DrawableCredit(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetFieldValue<DateOnly>(4),
        _db.Money(r.GetValue(5))), ("c", companyId), ("on", on));

    /// <summary>The aid-intensity ceiling of art. 15 that applies: development's own (15.4), else the highest whose condition holds.</summary>
    private (LedgerRules.Percent Ceiling, bool Development) Ceiling(DrawRequest r)
    {
        var a = Rules.Ceilings;
        if (r.Use == LedgerRules.DevelopmentUse) return (a.Development, true);
        var holding = new List<LedgerRules.Percent> { a.Base };
        if (r.Gber547a) holding.Add(a.Gber547a);
        if (r.Coproducers.Any(x => x.DacListed)) holding.Add(a.DacCoproduction);
        if (r.DifficultWork is not null) holding.Add(a.Difficult);
        return (holding.MaxBy(x => x.Percent_)!, false);
    }

    private void ValidateShape(DrawRequest r)
    {
        const string cite = "art. 13.1";
        if (string.IsNullOrEmpty(r.CompanyId)) throw Bad("company_id", cite, "a draw names the company whose fondo potenziale it draws on");
        if (string.IsNullOrEmpty(r.NewWorkId)) throw Bad("new_work_id", cite, "a draw names the new work it funds");
        if (!Rules.UsesByKind.ContainsKey(r.WorkKind))
            throw Bad("work_kind", "art. 14.1", $"the kind of the new work is one of {string.Join(", ", Rules.UsesByKind.Keys)}, got '{r.WorkKind}'");
        var allUses = Rules.UsesByKind.Values.SelectMany(u => u.Allowed).Distinct().ToList();
        if (!allUses.Contains(r.Use)) throw Bad("use", "art. 14.1", $"the use is one of {string.Join(", ", allUses)}, got '{r.Use}'");
        Cents(r.Amount, "amount", cite, positive: true);
        Cents(r.Cost, "cost", "art. 15.1", positive: true);
        Cents(r.OtherPublicAid, "other_public_aid", "art. 15.1", positive: false);
        if (r.DifficultWork is { } d && !DifficultLetters.Contains(d))
            throw Bad("difficult_work", "art. 15.3", $"a difficult work is one of art. 15.3's letters a, b, c, d, got '{d}'");
        for (var i = 0; i < r.Coproducers.Count; i++)
            if (r.Coproducers[i].Country is not { Length: 2 } country || !country.All(char.IsAsciiLetterUpper))
                throw Bad($"coproducers[{i}].country", "art. 15.2", $"a country is its ISO 3166-1 alpha-2 code, got '{r.Coproducers[i].Country}'");
        if (r.Stage.Length > 200) throw Bad("stage", "art. 13.2", "a stage is at most 200 characters");
    }

    private static void Cents(decimal value, string field, string cite, bool positive)
    {
        if (positive ? value <= 0 : value < 0) throw Bad(field, cite, $"must be {(positive ? "above" : "at least")} 0, got {value}");
        if (decimal.Round(value, 2) != value) throw Bad(field, cite, $"euro and cents, at most 2 decimals, got {value}");
        // The request bound every amount of the service has (README, "Request limits").
        if (value > Protocol.RequestLimits.MaxAmount) throw Bad(field, cite, $"at most {Protocol.RequestLimits.MaxAmount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}, got {value}");
    }
}
