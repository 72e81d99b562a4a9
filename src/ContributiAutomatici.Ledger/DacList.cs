using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// Art. 15.2 reads the OECD DAC list: a co-producer's State counts when the list of the rules in force on the day of the
/// draw (<c>oda_recipients</c>, <c>elenco-dac.yaml</c> beside the co-production lists) has it from a date on or before it.
/// The request's <c>dac_listed</c> is checked against the list, never taken on its word; rules without the list leave it
/// as the request says.
/// </summary>
public static class DacList
{
    /// <summary>The kind of the rules' list of the OECD DAC's ODA recipients.</summary>
    public const string Kind = "oda_recipients";

    /// <summary>The draw with each co-producer's DAC listing as the rules say; a listing the rules do not have is refused.</summary>
    public static DrawRequest Checked(DrawRequest request, RuleCatalog catalog)
    {
        if (request.Coproducers.Count == 0) return request;
        var versions = catalog.Versions.Select(v => v.Definition).ToList();
        var version = versions.Where(d => d.InForceFrom <= request.RequestedOn).MaxBy(d => d.InForceFrom) ?? versions.MaxBy(d => d.InForceFrom);
        if (version?.Lists.FirstOrDefault(l => l.Kind == Kind) is not { } list) return request;
        var coproducers = new List<Coproducer>(request.Coproducers.Count);
        for (var i = 0; i < request.Coproducers.Count; i++)
        {
            var c = request.Coproducers[i];
            var listed = list.Entries.Any(e => e.Id == c.Country && e.InForceFrom is { } from && from <= request.RequestedOn);
            if (c.DacListed && !listed)
                throw new LedgerRefusal(RefusalKind.InvalidArgument, $"coproducers[{i}].dac_listed", "art. 15.2",
                    $"'{c.Country}' is not on the OECD DAC list of {version.Id} on {request.RequestedOn:yyyy-MM-dd} " +
                    $"({Path.GetFileName(list.File)}): the ceiling of art. 15.2 follows the list, not the request");
            coproducers.Add(c with { DacListed = listed });
        }
        return request with { Coproducers = coproducers };
    }
}
