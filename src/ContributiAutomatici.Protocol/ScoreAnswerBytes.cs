using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// A reusable buffer holding the protobuf bytes of one totals answer (<see cref="ResponseMapper.Encode"/>): the bytes of the
/// <see cref="V1.ScoreWorkResponse"/> <see cref="ResponseMapper.Score(ScoringRequest, V1.ScoreWorkResponse?)"/> gives, written
/// field by field from the totals without the message, its role and quota messages or a string per number (issue 27 item 1).
/// Not thread-safe: one answer at a time.
/// </summary>
public sealed class ScoreAnswerBytes(int capacity = 1024)
{
    internal readonly ProtoEncoder Encoder = new(capacity);

    /// <summary>The bytes last written (valid until the next write).</summary>
    public ReadOnlyMemory<byte> Bytes => Encoder.Written;

    /// <summary>The buffer's size: it grows to the largest answer written and stays so.</summary>
    public int Capacity => Encoder.Capacity;

    /// <summary>Empties the buffer (for the items of a stream's next answer message).</summary>
    public void Reset() => Encoder.Reset();

    // The items of a ScoreWorkBatchesResponse are its field 1; a ScoreWorks answer is one item alone (not nested).
    private const int BatchItems = 1;
    private const int ItemRequestId = 1, ItemResponse = 2, ItemError = 3;

    /// <summary>
    /// Starts a stream's answer item (a <see cref="V1.ScoreWorksResponse"/>): its request id; <paramref name="inBatch"/>, as the
    /// next item of a <see cref="V1.ScoreWorkBatchesResponse"/>. Then one of <see cref="Totals"/>, <see cref="Response"/> or
    /// <see cref="Error"/>, then <see cref="EndItem"/>.
    /// </summary>
    public void BeginItem(string requestId, bool inBatch)
    {
        if (inBatch) Encoder.Begin(BatchItems, "items", repeated: true);
        Encoder.String(ItemRequestId, "requestId", requestId);
    }

    /// <summary>The item's answer to a totals-only request, as <see cref="ResponseMapper.Encode"/> writes it (scored first: a rule that fails writes nothing).</summary>
    public void Totals(ScoringRequest request, V1.ReformApplied? reform) =>
        ResponseMapper.WriteAnswer(Encoder, request, reform, ItemResponse);

    /// <summary>The item's answer as a message (one that asks for the explanation).</summary>
    public void Response(V1.ScoreWorkResponse response) => Encoder.Message(ItemResponse, "response", response);

    /// <summary>Why the item could not be scored.</summary>
    public void Error(Google.Rpc.Status status) => Encoder.Message(ItemError, "error", status);

    public void EndItem(bool inBatch)
    {
        if (inBatch) Encoder.End();
    }
}

public static partial class ResponseMapper
{
    /// <summary>
    /// The protobuf bytes of <see cref="Score(ScoringRequest, V1.ScoreWorkResponse?)"/>'s message for a request that asks no
    /// explanation (<see cref="AsksTotals"/>), with <paramref name="reform"/> as its reform (what the server sets), written into
    /// <paramref name="into"/>: byte for byte what the message's <c>ToByteArray</c> gives (<c>ProductPathTests</c>), and nothing
    /// allocated in steady state (a national work; a co-production's category is the classifier's).
    /// </summary>
    public static ReadOnlyMemory<byte> Encode(ScoringRequest request, V1.ReformApplied? reform, ScoreAnswerBytes into)
    {
        if (!AsksTotals(request)) throw new ArgumentException("the request asks for the explanation: its answer is a message (Score)", nameof(request));
        into.Encoder.Reset();
        WriteAnswer(into.Encoder, request, reform, field: 0);
        return into.Encoder.Written;
    }

    /// <summary>The request scored on the totals path and its answer written (as the message's field <paramref name="field"/>; 0: the message itself).</summary>
    internal static void WriteAnswer(ProtoEncoder e, ScoringRequest request, V1.ReformApplied? reform, int field)
    {
        var coproduction = request.RuleSet.Coproductions.Classify(request.Work);
        var totals = Totals(request);
        if (field > 0) e.Begin(field, "response", repeated: false);
        Write(e, request, totals, Said(coproduction) ? coproduction : null, reform);
        if (field > 0) e.End();
    }

    /// <summary>
    /// The fields of the totals answer in field-number order, as the message's <c>WriteTo</c> writes what <see cref="Fill"/> sets:
    /// a quota that scored nothing is left out, each number at the points scale and a role's total the sum of its quotas as printed.
    /// </summary>
    private static void Write(ProtoEncoder e, ScoringRequest request, PointTotals totals, CoproductionStatus? coproduction, V1.ReformApplied? reform)
    {
        var d = request.RuleSet.Definition;
        var roles = request.Roles;
        e.String(1, "ruleSetId", BaseId(d));
        e.String(2, "contentHash", d.ContentHash);
        e.String(3, "workId", request.Work.Id);
        var quotaIds = totals.QuotaIds;
        for (var k = 0; k < roles.Count; k++)
        {
            var role = roles[k].Role;
            // The total (field 2) comes before the quotas (field 3) it sums.
            var total = 0m;
            for (var q = 0; q < quotaIds.Count; q++)
                if (totals.Quota(role, q) is var sum && decimal.Sign(sum) != 0) total += Points(sum);
            e.Begin(4, "roles", repeated: true);
            e.Enum(1, "role", (int)role, AllocationMapper.RoleType);
            e.Decimal(2, "totalPoints", total, PointsScale);
            for (var q = 0; q < quotaIds.Count; q++)
            {
                var sum = totals.Quota(role, q);
                if (decimal.Sign(sum) == 0) continue;
                e.Begin(3, "quotas", repeated: true);
                e.String(1, "quotaId", quotaIds[q]);
                e.Decimal(2, "points", sum, PointsScale);
                e.End();
            }
            e.End();
        }
        var excluded = request.Excluded ?? totals.Excluded;
        for (var i = 0; i < excluded.Count; i++)
        {
            e.Begin(5, "excluded", repeated: true);
            AllocationMapper.Exclusion(e, excluded[i]);
            e.End();
        }
        e.Strings(6, "overlays", d.AppliedOverlays);
        e.Bool(7, "incomplete", totals.Incomplete);
        Flagged(e, 8, totals, roles, missing: true);
        Flagged(e, 9, totals, roles, missing: false);
        if (coproduction is not null)
        {
            e.Begin(10, "coproduction", repeated: false);
            Coproduction(e, coproduction);
            e.End();
        }
        if (reform is not null) e.Message(11, "reform", reform);
    }

    private static readonly Google.Protobuf.Reflection.EnumDescriptor CategoryType = V1.CoproductionStatus.Descriptor.FindFieldByName("category").EnumType;

    /// <summary>
    /// A work's category (contributi.v1.CoproductionStatus) as <see cref="Coproduction(CoproductionStatus, V1.CoproductionStatus)"/>
    /// fills it: the threshold canonical at full precision, no string made for it.
    /// </summary>
    private static void Coproduction(Encoder e, CoproductionStatus s)
    {
        e.Enum(1, "category", (int)s.Category, CategoryType);
        e.String(2, "label", s.Label);
        e.String(3, "article", s.Article);
        e.String(4, "reason", s.Reason);
        if (s.ThresholdPercent is { } t) e.Decimal(5, "thresholdPercent", t, 28);
        e.String(6, "thresholdArticle", s.ThresholdArticle);
        e.String(7, "thresholdReason", s.ThresholdReason);
    }

    /// <summary>The missing (or provisional) rows of every role asked, each once, in the order the roles name them.</summary>
    private static void Flagged(ProtoEncoder e, int field, PointTotals totals, IReadOnlyList<Engine.Model.RoleInput> roles, bool missing)
    {
        for (var k = 0; k < roles.Count; k++)
        {
            var rows = Rows(totals, roles[k].Role, missing);
            for (var i = 0; i < rows.Count; i++)
                if (!Before(totals, roles, k, i, rows[i], missing)) e.Element(field, rows[i]);
        }
    }

    /// <summary>Whether <paramref name="row"/> is named before the <paramref name="i"/>-th row of the <paramref name="k"/>-th role.</summary>
    private static bool Before(PointTotals totals, IReadOnlyList<Engine.Model.RoleInput> roles, int k, int i, string row, bool missing)
    {
        for (var j = 0; j <= k; j++)
        {
            var rows = Rows(totals, roles[j].Role, missing);
            var until = j == k ? i : rows.Count;
            for (var r = 0; r < until; r++)
                if (string.Equals(rows[r], row, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static IReadOnlyList<string> Rows(PointTotals totals, Engine.Model.Role role, bool missing) =>
        missing ? totals.MissingRows(role) : totals.ProvisionalRows(role);
}
