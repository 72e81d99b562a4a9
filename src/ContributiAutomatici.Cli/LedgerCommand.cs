using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Ledger;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>ledger post|balance|statement|reinvest|expire|breach --db DB</c>: the fund ledger (arts. 12-15) on a SQLite file
/// or a PostgreSQL connection string, as LedgerService does it. A refusal prints "field: reason [article]" and exits 1.
/// </summary>
internal static class LedgerCommand
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation());

    public static Command Build(Io io)
    {
        var ledger = new Command("ledger", "The fund ledger (arts. 12-15): post an allocation's credits, state a company's fondo potenziale, " +
                                           "draw for a new work, lapse what expired; on a SQLite file or a PostgreSQL database (--db)");
        ledger.Subcommands.Add(Post(io));
        ledger.Subcommands.Add(Statement(io, balance: true));
        ledger.Subcommands.Add(Statement(io, balance: false));
        ledger.Subcommands.Add(Reinvest(io));
        ledger.Subcommands.Add(Expire(io));
        ledger.Subcommands.Add(Breach(io));
        return ledger;
    }

    private static Option<string> Db() => new("--db")
    {
        Description = "The ledger: a SQLite file (created when missing) or a PostgreSQL connection string (\"Host=...;Database=...\")",
        Required = true, HelpName = "DB",
    };

    private static Option<string?> Date(string name, string what) => new(name) { Description = what + " (YYYY-MM-DD; default today)", HelpName = "DATE" };

    private static Option<string?> Key() => new("--idempotency-key") { Description = "A retry with the same key is applied once", HelpName = "KEY" };

    private static Command Post(Io io)
    {
        var command = new Command("post", "Allocate a year and post its credits (one per company, work and sub-quota, with expiry and the authors' " +
                                          "shares set aside); the same allocation again changes nothing");
        var file = new Argument<string>("YEAR") { Description = "A contributi.v1.AllocationYear (.json) or AllocateRequest lines (.jsonl)" };
        var db = Db();
        var on = Date("--on", "The posting date");
        var supersede = new Option<bool>("--supersede") { Description = "Reverse the year's posted allocation by entries and post this one" };
        var key = Key();
        var json = CommonOptions.Json("Print the contributi.v1.PostAllocationResponse");
        command.Arguments.Add(file);
        foreach (var o in new Option[] { db, on, supersede, key, json }) command.Options.Add(o);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Run(io, r.GetValue(db)!, store =>
        {
            var rules = source(r).Catalog();
            if (rules is null) return Program.InputError;
            var path = r.GetValue(file)!;
            PostingRequest posting;
            try
            {
                posting = YearPosting.Allocate(rules, AllocateCommand.Read(path), ParseDate(r.GetValue(on), "--on")).Posting;
            }
            catch (Exception ex) when (ex is JsonInputException or IOException)
            {
                io.Err.WriteLine(ex is IOException ? $"{path}: {ex.Message}" : ex.Message);
                return Program.InputError;
            }
            catch (Exception ex) when (ScoreCommand.ReportRequestError(ex, path, io.Err))
            {
                return Program.InputError;
            }
            var result = store.Post(posting with { Supersede = r.GetValue(supersede), IdempotencyKey = r.GetValue(key) });
            io.Out.WriteLine(r.GetValue(json) ? Json.Format(LedgerMapper.Posted(result)) : $"{result.PostingId}: {result.Message}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Statement(Io io, bool balance)
    {
        var command = balance
            ? new Command("balance", "A company's fondo potenziale at a date: held, available, set aside, by year credited")
            : new Command("statement", "The statement of art. 12.7 of a company at a date: per credit the work, the year credited and the year by " +
                                       "which it must be used; JSON, or a self-contained Italian HTML page (--html), or PDF (--pdf, headless Chromium)");
        var company = new Argument<string>("COMPANY") { Description = "The company's id" };
        var db = Db();
        var at = Date("--at", "The date of the statement");
        var json = CommonOptions.Json(balance ? "Print the contributi.v1.GetBalanceResponse" : "Print the contributi.v1.Statement");
        command.Arguments.Add(company);
        foreach (var o in new Option[] { db, at, json }) command.Options.Add(o);
        var html = new Option<string?>("--html") { Description = "Write the statement as an Italian HTML page", HelpName = "FILE" };
        var pdf = new Option<string?>("--pdf") { Description = "Write the statement as PDF (headless Chromium's print to PDF)", HelpName = "FILE" };
        if (!balance)
        {
            command.Options.Add(html);
            command.Options.Add(pdf);
        }
        command.SetAction(r => Run(io, r.GetValue(db)!, store =>
        {
            var s = store.Statement(r.GetValue(company)!, ParseDate(r.GetValue(at), "--at"));
            if (r.GetValue(html) is { } h) File.WriteAllText(h, StatementHtml.Render(s));
            if (r.GetValue(pdf) is { } p && Pdf(StatementHtml.Render(s), p, io) is var rc && rc != Program.Ok) return rc;
            if (r.GetValue(json))
                io.Out.WriteLine(balance ? Json.Format(LedgerMapper.Balance(s)) : Json.Format(LedgerMapper.Statement(s)));
            else
                WriteText(s, balance, io.Out);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Reinvest(Io io)
    {
        var command = new Command("reinvest", "Draw on a company's fondo potenziale for a new work (arts. 13-15), oldest credits first; refused with the article");
        var file = new Argument<string>("REQUEST") { Description = "A contributi.v1.ReinvestRequest (.json)" };
        var db = Db();
        var json = CommonOptions.Json("Print the contributi.v1.ReinvestResponse");
        command.Arguments.Add(file);
        command.Options.Add(db);
        command.Options.Add(json);
        // Art. 15.2 reads the rules' OECD DAC list (DacList).
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Run(io, r.GetValue(db)!, store =>
        {
            if (source(r).Catalog() is not { } rules) return Program.InputError;
            var path = r.GetValue(file)!;
            V1.ReinvestRequest request;
            try
            {
                request = JsonParser.Default.Parse<V1.ReinvestRequest>(File.ReadAllText(path));
            }
            catch (Exception ex) when (ex is IOException or InvalidProtocolBufferException or InvalidJsonException)
            {
                io.Err.WriteLine($"{path}: {ex.Message}");
                return Program.InputError;
            }
            var result = store.Draw(DacList.Checked(LedgerMapper.Draw(request, DateOnly.FromDateTime(DateTime.UtcNow)), rules));
            io.Out.WriteLine(r.GetValue(json)
                ? Json.Format(LedgerMapper.Drawn(result))
                : $"{result.DrawId}: EUR {Eur(result.Amount)} for {result.NewWorkId} under the ceiling of {result.CeilingPercent}% ({result.CeilingArticle}); " +
                  $"available after EUR {Eur(result.AvailableAfter)}{(result.Applied ? "" : " (a retry: nothing changed)")}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Expire(Io io)
    {
        var command = new Command("expire", "At a date, credits past their deadline lapse back to the Fund (art. 12.6), reported per company");
        var db = Db();
        var at = Date("--at", "The date: credits whose deadline is before it lapse");
        var key = Key();
        var json = CommonOptions.Json("Print the contributi.v1.LapseReport");
        foreach (var o in new Option[] { db, at, key, json }) command.Options.Add(o);
        command.SetAction(r => Run(io, r.GetValue(db)!, store =>
        {
            WriteLapse(store.Expire(ParseDate(r.GetValue(at), "--at"), r.GetValue(key)), r.GetValue(json), io);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Breach(Io io)
    {
        var command = new Command("breach", "A breach of art. 14.6 (logo, deposit at the Cineteca): the company's credits for the work lapse");
        var company = new Argument<string>("COMPANY") { Description = "The company's id" };
        var work = new Argument<string>("WORK") { Description = "The work whose credits lapse" };
        var clause = new Option<string>("--clause") { Description = "logo (14.6.a) or deposit (14.6.b)", Required = true };
        clause.AcceptOnlyFromAmong("logo", "deposit");
        var db = Db();
        var at = Date("--at", "The date of the finding");
        var json = CommonOptions.Json("Print the contributi.v1.LapseReport");
        command.Arguments.Add(company);
        command.Arguments.Add(work);
        foreach (var o in new Option[] { clause, db, at, json }) command.Options.Add(o);
        command.SetAction(r => Run(io, r.GetValue(db)!, store =>
        {
            WriteLapse(store.Breach(new BreachRequest(r.GetValue(company)!, r.GetValue(work)!, r.GetValue(clause)!, ParseDate(r.GetValue(at), "--at"))),
                r.GetValue(json), io);
            return Program.Ok;
        }));
        return command;
    }

    /// <summary>Opens the ledger and runs <paramref name="action"/>; a refusal or a bad date is printed, exit 1.</summary>
    private static int Run(Io io, string db, Func<LedgerStore, int> action)
    {
        try
        {
            return action(LedgerStore.Open(db));
        }
        catch (LedgerRefusal r)
        {
            io.Err.WriteLine($"{r.Field}: {r.Reason} [{r.Article}]");
            return Program.InputError;
        }
        catch (FormatException ex)
        {
            io.Err.WriteLine(ex.Message);
            return Program.InputError;
        }
    }

    private static DateOnly ParseDate(string? s, string option) =>
        s is null ? DateOnly.FromDateTime(DateTime.UtcNow)
        : DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new FormatException($"{option}: a date YYYY-MM-DD, got '{s}'");

    private static string Eur(decimal d) => d.ToString("#,0.00", CultureInfo.InvariantCulture);

    private static void WriteText(Statement s, bool balance, TextWriter o)
    {
        o.WriteLine($"{s.CompanyName} ({s.CompanyId}) at {s.At:yyyy-MM-dd}: held EUR {Eur(s.Held)} = available {Eur(s.Available)} + authors' shares set aside " +
                    $"{Eur(s.AuthorsSetAside)} [art. 12.7]");
        o.WriteLine($"  credited {Eur(s.Credited)}, drawn {Eur(s.Drawn)}, lapsed {Eur(s.Lapsed)}, reversed {Eur(s.Reversed)}; {s.Entries} journal entries");
        if (balance)
        {
            foreach (var g in s.Lines.GroupBy(l => (l.CreditingYear, l.UseByYear)).OrderBy(g => g.Key))
                o.WriteLine($"  credited {g.Key.CreditingYear}, to be used by {g.Key.UseByYear}: held {Eur(g.Sum(l => l.Held))}, available {Eur(g.Sum(l => l.Available))}");
            return;
        }
        o.WriteLine($"  {"work",-28} {"sub-quota",-22} {"year",8} {"use by",6} {"credited",16} {"drawn",14} {"lapsed",14} {"held",16}");
        foreach (var l in s.Lines)
            o.WriteLine($"  {l.WorkId,-28} {l.QuotaId,-22} {l.CreditingYear,8} {l.UseByYear,6} {Eur(l.Credited),16} {Eur(l.Drawn),14} {Eur(l.Lapsed + l.Reversed),14} {Eur(l.Held),16}");
        foreach (var d in s.Draws)
            o.WriteLine($"  draw {d.DrawId} {d.RequestedOn:yyyy-MM-dd} {d.NewWorkId} ({d.Use}{(d.Stage.Length > 0 ? ", " + d.Stage : "")}): {Eur(d.Amount)}");
    }

    private static void WriteLapse(ExpireResult r, bool json, Io io)
    {
        if (json)
        {
            io.Out.WriteLine(Json.Format(LedgerMapper.Lapsed(r)));
            return;
        }
        io.Out.WriteLine(r.Applied
            ? $"{r.OperationId}: EUR {Eur(r.Total)} lapsed back to the Fund [{r.Article}]"
            : $"nothing lapsed at {r.On:yyyy-MM-dd} [{r.Article}]");
        foreach (var c in r.Companies) io.Out.WriteLine($"  {c.CompanyId,-28} {Eur(c.Amount),16}");
    }

    /// <summary>The page printed to PDF by headless Chromium (Debian's chromium).</summary>
    private static int Pdf(string html, string pdf, Io io)
    {
        if (HeadlessChromium.Find() is null)
        {
            io.Err.WriteLine("--pdf needs headless Chromium (apt-get install chromium)");
            return Program.InputError;
        }
        var dir = Directory.CreateTempSubdirectory("contributi-statement-");
        try
        {
            var page = Path.Combine(dir.FullName, "statement.html");
            File.WriteAllText(page, html);
            HeadlessChromium.PrintToPdf(page, pdf);
            return Program.Ok;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            io.Err.WriteLine(ex.Message);
            return Program.InputError;
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
