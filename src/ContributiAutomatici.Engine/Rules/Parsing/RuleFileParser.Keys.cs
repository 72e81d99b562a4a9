using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

public static partial class RuleFileParser
{
    /// <summary>
    /// The keys of every kind of mapping in a rule set's files: the parser reads these and refuses any other key
    /// (<see cref="YamlMap.Done"/>); the JSON Schemas under rules/schema/ declare exactly these (SchemaTests).
    /// </summary>
    public static class Keys
    {
        public static readonly YamlKeys Range = new("range", ["from", "to"]);

        public static readonly YamlKeys Quota = new("quota", ["id", "title", "share", "reserved", "cite", "short_films_limit", "sub_quotas"]);

        public static readonly YamlKeys Manifest = new("manifest",
        [
            "id", "title", "decree", "kind", "patches", "supersedes", "in_force", "application_years", "admissible_results_from",
            "admissible_results_cite", "quotas", "quantities", "tables", "lists", "policies", "allocation",
            // an overlay's
            "on_by_default", "window", "rows",
        ]);

        public static readonly YamlKeys Table = new("table", ["table", "title", "cite", "applies", "sections"]);

        public static readonly YamlKeys Section = new("section", ["id", "title", "quota", "when", "rows"]);

        private static readonly string[] RowFields =
            ["label", "cite", "quota", "when", "base", "base_role", "whole_points", "figures", "provenance", "borrows", "role", "points"];

        public static readonly YamlKeys Row = new("row", ["id", .. RowFields]);

        /// <summary>A role column written as a mapping: its own condition and its points.</summary>
        public static readonly YamlKeys Cell = new("cell", ["when", "points"]);

        public static readonly YamlKeys Figure = new("figure", ["value", "ref", "scale", "unit", "cite"]);

        /// <summary>A named quantity of the manifest (expr), or an overlay's change of one (expr for a new one, plus or minus).</summary>
        public static readonly YamlKeys Quantity = new("quantity", ["label", "cite", "expr", "plus", "minus"]);

        /// <summary>An overlay's row: 'patch' (new figures or expressions of a row), 'add' (a new row, after one) or 'disable'.</summary>
        public static readonly YamlKeys RowPatch = new("rowPatch", ["patch", "add", "after", "disable", "replace", "reason", .. RowFields]);

        public static readonly YamlKeys List = new("list", ["list", "title", "cite", "borrows", "remove", "entries", "groups"]);

        /// <summary>A named group of a list's ids.</summary>
        public static readonly YamlKeys ListGroup = new("listGroup", ["label", "cite", "ids"]);

        public static readonly YamlKeys ListEntry = new("listEntry", ["id", "name", "band", "category", "increment", "cite", "for_works", "not_for_works", "in_force_from", "note"]);

        public static readonly YamlKeys WorkFacts = new("workFacts", Rules.WorkFacts.Known.Keys);

        public static readonly YamlKeys Allocation = new("allocation",
            ["work_cap", "company_cap", "credit_expiry", "authors_shares", "applicants", "net_worth", "works", "results"]);

        public static readonly YamlKeys Cap = new("cap", ["percent", "cite"]);

        public static readonly YamlKeys Expiry = new("expiry", ["years", "cite"]);

        public static readonly YamlKeys AuthorsShares = new("authorsShares", ["percent", "categories", "roles", "cite"]);

        public static readonly YamlKeys Applicants = new("applicants", ["eea_seat", .. RoleNames.ByKey.Keys]);

        public static readonly YamlKeys Applicant = new("applicant", ["ateco", "independent_for", "cite"]);

        public static readonly YamlKeys NetWorth = new("netWorth", ["minimum", "short_films", "cite"]);

        public static readonly YamlKeys Works = new("works", ["eligible", "rights_shares", "coproduction"]);

        public static readonly YamlKeys Coproduction = new("coproduction", ["minimum_share", "reduced_share", "reduced_from_cost", "cite", "categories"]);

        public static readonly YamlKeys CoproductionCategories = new("coproductionCategories",
            ["home_country", "agreements", "conventions", "coproduzione", "compartecipazione", "produzione_internazionale", "multilaterale"]);

        public static readonly YamlKeys Results = new("results", ["declared_once", "not_yet_obtained", "first_exploitation"]);

        public static readonly YamlKeys FirstExploitation = new("firstExploitation", ["not_yet_exploited", "other_year", "too_early_years", "too_early"]);

        /// <summary>"unknown role 'prodcer' (roles: producer, ...); did you mean 'producer'?"</summary>
        public static string UnknownRole(string key, string what = "role") =>
            $"unknown {what} '{key}' (roles: {string.Join(", ", RoleNames.ByKey.Keys)}){YamlKeys.Suggestion(key, RoleNames.ByKey.Keys)}";

        public static IReadOnlyList<YamlKeys> All { get; } =
        [
            Range, Quota, Manifest, Table, Section, Row, Cell, Figure, RowPatch, List, ListGroup, ListEntry, WorkFacts, Allocation, Cap, Expiry,
            AuthorsShares, Applicants, Applicant, NetWorth, Works, Coproduction, CoproductionCategories, Results, FirstExploitation,
        ];
    }
}
