using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// The fondo potenziale's figures (fondo-potenziale.yaml, embedded): the uses allowed by kind (14.1), the net-worth
/// floor (14.2), the aid-intensity ceilings (15), each with its article. The ledger's code keeps only the rules' shape.
/// </summary>
public sealed class LedgerRules
{
    public sealed class Cited
    {
        public string Cite { get; set; } = "";
    }

    public sealed class Percent
    {
        public decimal Percent_ { get; set; }
        public string Cite { get; set; } = "";
    }

    public sealed class Uses
    {
        public List<string> Allowed { get; set; } = [];
        public string Cite { get; set; } = "";
    }

    public sealed class NetWorth
    {
        public decimal Minimum { get; set; }
        public decimal ShortFilms { get; set; }
        public string Cite { get; set; } = "";
    }

    public sealed class Breaches
    {
        public Cited Logo { get; set; } = new();
        public Cited Deposit { get; set; } = new();
    }

    public sealed class AidIntensity
    {
        public Percent Base { get; set; } = new();
        [YamlMember(Alias = "gber_54_7_a")] public Percent Gber547a { get; set; } = new();
        public Percent DacCoproduction { get; set; } = new();
        public Percent Difficult { get; set; } = new();
        public Percent Development { get; set; } = new();
    }

    public sealed class DrawPolicy
    {
        public string Policy { get; set; } = "";
        public string Cite { get; set; } = "";
    }

    public string Version { get; set; } = "";
    public Cited Lapse { get; set; } = new();
    public Cited Expiry { get; set; } = new();
    public Cited Posting { get; set; } = new();
    [YamlMember(Alias = "supersede")] public Cited SupersedeRule { get; set; } = new();
    [YamlMember(Alias = "balance")] public Cited BalanceRule { get; set; } = new();
    public Cited AuthorsShares { get; set; } = new();
    [YamlMember(Alias = "uses")] public Dictionary<string, Uses> UsesByKind { get; set; } = [];
    [YamlMember(Alias = "net_worth")] public NetWorth NetWorthFloor { get; set; } = new();
    public Cited AuthorsDocumented { get; set; } = new();
    [YamlMember(Alias = "breach")] public Breaches Breach { get; set; } = new();
    [YamlMember(Alias = "aid_intensity")] public AidIntensity Ceilings { get; set; } = new();
    public DrawPolicy Draws { get; set; } = new();

    /// <summary>The name of the use a development draw has (its own ceiling, art. 15.4).</summary>
    public const string DevelopmentUse = "development";

    /// <summary>The figures shipped with the ledger (DM 15 July 2021).</summary>
    public static LedgerRules Default { get; } = Load();

    private static LedgerRules Load()
    {
        using var stream = typeof(LedgerRules).Assembly.GetManifestResourceStream("fondo-potenziale.yaml")
            ?? throw new InvalidOperationException("fondo-potenziale.yaml is not embedded in the ledger assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    /// <summary>Reads a figures file; an unknown key is an error (no figure is silently ignored).</summary>
    public static LedgerRules Parse(string yaml)
    {
        var d = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .WithAttributeOverride<Percent>(p => p.Percent_, new YamlMemberAttribute { Alias = "percent" }).Build();
        return d.Deserialize<LedgerRules>(yaml);
    }
}
