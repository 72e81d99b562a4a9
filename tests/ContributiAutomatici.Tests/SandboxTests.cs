namespace ContributiAutomatici.Tests;

/// <summary>A rule expression reaches only the scoring model and the helpers; everything else is refused at load time with file and line.</summary>
public class SandboxTests
{
    private static void Refused(string points, string expected)
    {
        using var t = TempRules.WithRow(points);
        var ex = t.LoadFails();
        var e = Assert.Single(ex.Errors);
        Assert.EndsWith("t.yaml", e.File);
        Assert.Equal(t.LineOf("test-set/t.yaml", "points:"), e.Line);
        Assert.Contains(expected, e.Message);
    }

    [Fact] public void File_IO_is_refused() => Refused("System.IO.File.ReadAllText(\"/etc/passwd\").Length", "System.IO");

    [Fact] public void Directory_listing_is_refused() => Refused("System.IO.Directory.GetFiles(\"/\").Length", "System.IO");

    [Fact] public void Reflection_is_refused() => Refused("Work.GetType().GetMethods().Length", "GetType");

    [Fact] public void Typeof_is_refused() => Refused("typeof(Work).GetMethods().Length", "typeof");

    [Fact] public void Reflection_namespace_is_refused() => Refused("System.Reflection.Assembly.GetExecutingAssembly().GetTypes().Length", "System.Reflection");

    [Fact] public void Process_start_is_refused() => Refused("System.Diagnostics.Process.Start(\"sh\").Id", "System.Diagnostics");

    [Fact] public void Threads_are_refused() => Refused("new System.Threading.Thread(() => { }).ManagedThreadId", "statement bodies");

    [Fact] public void Thread_sleep_is_refused() => Refused("System.Threading.Thread.CurrentThread.ManagedThreadId", "System.Threading");

    [Fact] public void Tasks_are_refused() => Refused("System.Threading.Tasks.Task.Run(() => 1m).Result", "System.Threading");

    [Fact] public void Networking_is_refused() => Refused("new System.Net.Http.HttpClient().Timeout.Seconds", "System.Net");

    [Fact] public void Sockets_are_refused() => Refused("System.Net.Dns.GetHostName().Length", "System.Net");

    [Fact] public void Environment_is_refused() => Refused("System.Environment.ProcessorCount", "System.Environment");

    [Fact] public void Unsafe_pointers_are_refused() => Refused("*(decimal*)0", "unsafe");

    [Fact] public void Stackalloc_is_refused() => Refused("stackalloc int[4].Length", "unsafe");

    [Fact] public void Dynamic_is_refused() => Refused("((dynamic)Work).BoxOfficeTotal", "dynamic");

    [Fact] public void Statement_lambdas_are_refused() => Refused("Work.Festivals.Count(f => { while (true) { } })", "statement bodies");

    [Fact] public void Assignment_is_refused() => Refused("Work.Title = \"x\"", "assignment");

    [Fact] public void Escaping_the_expression_is_refused() => Refused("0m); } public static void X() { System.IO.File.Delete(\"x\"); } decimal Y() { return (0m", "not a valid C# expression");

    [Fact] public void Calling_engine_internals_is_refused() => Refused("NonZero(1m) ? 1m : 0m", "not a rule helper");

    // The overlays' window helpers walk the work's lists, as the list helpers do: never inside a lambda (linear time).
    [Theory]
    [InlineData("Work.Festivals.Count(f => SumInWindow(Work.BoxOffice) > 0)", "'SumInWindow' cannot be used inside a lambda")]
    [InlineData("Work.Prizes.Sum(p => TiersInWindow(Work.BoxOffice, (1000m, 10m)))", "cannot be used inside a lambda")]
    [InlineData("SumInWindow(Claimant.ForeignSales)", "SumInWindow")]
    public void Window_helpers_are_refused_where_misused(string points, string expected) => Refused(points, expected);

    [Fact]
    public void Claimant_in_a_row_condition_is_refused_with_the_condition_line()
    {
        using var t = TempRules.WithRow("1", when: "Claimant.ContractSignedOn != null");
        var e = Assert.Single(t.LoadFails().Errors);
        Assert.Equal(t.LineOf("test-set/t.yaml", "when:"), e.Line);
        Assert.Contains("cannot read Claimant", e.Message);
    }

    [Fact]
    public void The_model_the_helpers_math_and_linq_are_allowed()
    {
        using var t = TempRules.WithRow(
            "Math.Min(Per(Work.BoxOfficeTotal, 1_000) + Work.Festivals.Count(f => f.BestFilmPrize) + (Work.FirstReleaseDate > new DateOnly(2020, 1, 1) ? 1 : 0), 500m)");
        var set = Engine.Loading.RuleCatalog.Load(t.Root, new Engine.Compiling.RuleCompileOptions { CacheDirectory = null }).RuleSets[0];
        var work = new Engine.Model.Work
        {
            FirstReleaseDate = new DateOnly(2021, 3, 1),
            BoxOffice = [new(new DateOnly(2021, 3, 1), 20_000m)],
        };
        Assert.Equal(21m, set.Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
    }

    [Theory]
    [InlineData(@"#line 1 \""other.yaml\""\nWork.NoSuchField", "preprocessor directives")]
    [InlineData(@"1m\n#line 1 \""other.yaml\""\nWork.NoSuchField", "not a valid C# expression")]
    [InlineData(@"1m +\n\n\n Work.NoSuchField", "NoSuchField")]
    [InlineData(@"1m +\n\n\n Work.Title.GetHashCode()", "GetHashCode")]
    public void An_expression_with_line_breaks_in_a_quoted_YAML_string_is_refused_at_its_own_line(string yamlEscaped, string expected)
    {
        using var t = TempRules.WithRow("0");
        t.Replace("test-set/t.yaml", "points: '0'", $"points: \"{yamlEscaped}\"");
        var e = Assert.Single(t.LoadFails().Errors);
        Assert.EndsWith("t.yaml", e.File);
        Assert.Equal(t.LineOf("test-set/t.yaml", "points:"), e.Line);
        Assert.Contains(expected, e.Message);
    }
}
