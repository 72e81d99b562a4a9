using System.Runtime.CompilerServices;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// contributi.v1.ScoringService over the rule catalog loaded at start-up. Request-level errors are thrown as
/// the mapper's exceptions and turned into statuses by <see cref="ErrorInterceptor"/>; in ScoreWorks and ScoreWorkBatches
/// each bad item becomes an error item and the stream goes on.
/// </summary>
[BindServiceMethod(typeof(ScoringServiceBinding), nameof(ScoringServiceBinding.BindService))]
public sealed class ScoringGrpcService(LiveRules rules, ScoringStats stats, ContributiMetrics metrics, ILogger<ScoringGrpcService> logger)
    : ScoringService.ScoringServiceBase
{
    // A catalog is immutable, so its descriptions are built once; a catalog replaced by a reload is collected with them.
    private static readonly ConditionalWeakTable<RuleCatalog, ListRuleSetsResponse> Lists = new();
    private static readonly ConditionalWeakTable<CompiledRuleSet, GetRuleSetResponse> Details = new();
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
    private const int MaxUnflushed = 32;

    public override Task<ListRuleSetsResponse> ListRuleSets(ListRuleSetsRequest request, ServerCallContext context)
    {
        var response = Lists.GetValue(rules.Current, c =>
        {
            var r = new ListRuleSetsResponse();
            r.RuleSets.AddRange(c.Versions.Select(v => ResponseMapper.Summary(v, c)));
            r.RuleSets.AddRange(c.Overlays.Select(ResponseMapper.Summary));
            return r;
        });
        // The rule sets are the catalog's; how they were loaded and the last refused reload change without it.
        var answer = response.Clone();
        answer.RulesLoad = RulesLoadOf(rules);
        return Task.FromResult(answer);
    }

    /// <summary>The <see cref="RulesLoad"/> of ListRuleSets: when the live rules were loaded, refused reloads, the last refused one.</summary>
    internal static RulesLoad RulesLoadOf(LiveRules rules)
    {
        var load = new RulesLoad
        {
            LoadedAt = Timestamp.FromDateTimeOffset(rules.LastGoodLoad),
            ReloadFailures = rules.ReloadFailures,
        };
        if (rules.LastRefusal is { } refused)
        {
            load.Refused = new RefusedReload
            {
                At = Timestamp.FromDateTimeOffset(refused.At),
                Trigger = refused.Reason,
                ProblemCount = refused.Problems.Count,
            };
            load.Refused.Problems.AddRange(refused.Problems.Take(50).Select(p => new RuleProblem
            {
                File = p.File,
                Line = p.Line,
                Reason = GrpcErrors.Cut(p.Reason, 1000),
            }));
        }
        return load;
    }

    public override Task<GetRuleSetResponse> GetRuleSet(GetRuleSetRequest request, ServerCallContext context)
    {
        if (request.RuleSetId.Length == 0)
            throw new InvalidRequestException([new FieldError("rule_set_id", "a rule set id from ListRuleSets is required")]);
        var catalog = rules.Current;
        // The same selector grammar as every request: "dm-2021" is the version as in force (with its default overlays).
        var ruleSet = catalog.Select(request.RuleSetId, out var why) ?? throw new RpcException(new Status(StatusCode.NotFound,
            $"rule set '{GrpcErrors.Cut(request.RuleSetId)}': {GrpcErrors.Cut(why ?? "not loaded")} (loaded: {string.Join(", ", catalog.RuleSets.Select(catalog.CanonicalName))})"));
        return Task.FromResult(Details.GetValue(ruleSet, r => ResponseMapper.Detail(r, catalog)));
    }

    /// <summary>
    /// A work's score. Over gRPC, a request that asks no explanation (totals_only) is answered by a pooled carrier whose bytes
    /// are the answer encoded straight from the totals (<see cref="ResponseMapper.Encode"/>, the same bytes as the message):
    /// the response marshaller (<see cref="AllocationFrames.Framed"/>) writes them and gives the carrier back to the pool, so
    /// the answer allocates nothing in steady state (issue 27 item 1). Any other call (the explanation, or the JSON paths,
    /// which serialize the message itself) is answered by a message.
    /// </summary>
    public override Task<ScoreWorkResponse> ScoreWork(ScoreWorkRequest request, ServerCallContext context)
    {
        context.CancellationToken.ThrowIfCancellationRequested();
        var catalog = rules.Current;
        Task<ScoreWorkResponse> answer;
        CompiledRuleSet ruleSet;
        if (RequestMapper.AsksTotals(request) && WrittenByMarshaller(context)) answer = AnswerAsBytes(request, catalog, context, out ruleSet);
        else
        {
            var mapped = RequestMapper.Map(request, catalog);
            ruleSet = mapped.RuleSet;
            context.ResolvedRuleSet(ruleSet);
            answer = Task.FromResult(Answer(mapped, catalog));
        }
        metrics.WorkScored(ruleSet);
        stats.UnaryScored();
        return answer;
    }

    /// <summary>
    /// The answer to a totals-only request as ScoreWork gives it over gRPC: a pooled carrier (its task) whose bytes are the
    /// answer encoded (<see cref="ResponseMapper.Encode"/>, the reform set as the message's), written and given back by the
    /// response marshaller (<see cref="AllocationFrames.Write"/> does the same, for the benchmark). The request is mapped into
    /// the carrier's own <see cref="RequestScratch"/>, so neither the mapping nor the answer allocates in steady state; a
    /// request refused or failing gives the carrier back before its exception goes on. The call (<paramref name="context"/>, none
    /// for the benchmark) is told the rule set as soon as the request is mapped, so a rule that fails is logged with it.
    /// </summary>
    public static Task<ScoreWorkResponse> AnswerAsBytes(ScoreWorkRequest request, RuleCatalog catalog, ServerCallContext? context, out CompiledRuleSet ruleSet)
    {
        var pooled = PooledAnswer.Rent();
        try
        {
            var mapped = RequestMapper.Map(request, catalog, pooled.Scratch);
            ruleSet = mapped.RuleSet;
            context?.ResolvedRuleSet(ruleSet);
            pooled.Bytes = ResponseMapper.Encode(mapped, ReformMapper.Applied(mapped.RuleSet, catalog, mapped.ReformSource), pooled.Buffer);
        }
        catch
        {
            pooled.Written();
            throw;
        }
        Interlocked.Increment(ref s_answersAsBytes);
        return pooled.Task;
    }

    private static long s_answersAsBytes;

    /// <summary>ScoreWork answers given as encoded bytes (totals_only over gRPC) since start: for tests and diagnostics.</summary>
    public static long AnswersAsBytes => Interlocked.Read(ref s_answersAsBytes);

    /// <summary>The carriers those answers needed (the others were the pool's): for tests of the pool.</summary>
    public static long AnswerCarriersMade => PooledAnswer.Made;

    private static readonly System.Reflection.Assembly TranscodingAssembly = typeof(Microsoft.AspNetCore.Grpc.JsonTranscoding.GrpcJsonTranscodingMetadata).Assembly;

    /// <summary>
    /// Whether the call's response is written by the method's response marshaller: a gRPC call (application/grpc, gRPC-Web
    /// included), not the JSON transcoding's (which formats the message's fields) nor a caller without an HTTP context.
    /// </summary>
    private static bool WrittenByMarshaller(ServerCallContext context)
    {
        // A call of the JSON transcoding (its own ServerCallContext) is never one, whatever content type it came with.
        if (context.GetType().Assembly == TranscodingAssembly) return false;
        HttpContext http;
        try
        {
            http = context.GetHttpContext();
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        return http.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A ScoreWork answer as bytes: a carrier message (empty, its bytes in this frame), its completed task, the buffer its
    /// bytes are written in and the scratch its request is mapped into, all reused. Rented for a call, given back once the
    /// marshaller has written the bytes; one never written (a cancelled call) is left to the collector, never rented again. A
    /// few per processor are kept; one whose buffer grew past <see cref="MaxKeptBytes"/> (an answer of many exclusions) is left
    /// to the collector too (its scratch keeps no more than <see cref="RequestScratch.KeptItems"/> of anything).
    /// </summary>
    private sealed class PooledAnswer : AllocationFrames.Frame
    {
        private const int MaxKeptBytes = 64 * 1024;
        private static readonly PooledAnswer?[] Slots = new PooledAnswer?[Math.Max(4, 4 * Environment.ProcessorCount)];

        public readonly ScoreWorkResponse Carrier = new();
        public readonly Task<ScoreWorkResponse> Task;
        public readonly ScoreAnswerBytes Buffer = new();
        public readonly RequestScratch Scratch = new();
        private int _lent;

        private static long s_made;

        public static long Made => Interlocked.Read(ref s_made);

        private PooledAnswer()
        {
            Interlocked.Increment(ref s_made);
            Task = System.Threading.Tasks.Task.FromResult(Carrier);
            AllocationFrames.Carry(Carrier, this);
        }

        public static PooledAnswer Rent()
        {
            var start = Environment.CurrentManagedThreadId;
            PooledAnswer? answer = null;
            for (var k = 0; k < Slots.Length && answer is null; k++) answer = Interlocked.Exchange(ref Slots[(start + k) % Slots.Length], null);
            answer ??= new PooledAnswer();
            answer._lent = 1;
            return answer;
        }

        protected internal override void Written()
        {
            // Once per rent: a second write of the same carrier (there is none) would not pool it twice.
            if (Interlocked.Exchange(ref _lent, 0) == 0 || Buffer.Capacity > MaxKeptBytes) return;
            Bytes = default;
            var start = Environment.CurrentManagedThreadId;
            for (var k = 0; k < Slots.Length; k++)
                if (Interlocked.CompareExchange(ref Slots[(start + k) % Slots.Length], this, null) is null) return;
        }
    }

    /// <summary>
    /// One response per request, in order, one item at a time: read a request, score it, write its answer, read the
    /// next (<see cref="Pump{TRequest, TAnswer}"/>). Each answer is written as bytes (<see cref="ScoreItem"/>, the same bytes as
    /// the message) through the stream's one carrier message (<see cref="AllocationFrames"/>), its buffer rewritten for each
    /// item once the previous one's bytes are written: the totals path allocates no answer per item.
    /// </summary>
    public override Task ScoreWorks(IAsyncStreamReader<ScoreWorksRequest> requestStream,
        IServerStreamWriter<ScoreWorksResponse> responseStream, ServerCallContext context)
    {
        var (carrier, frame) = AllocationFrames.Carrier<ScoreWorksResponse>();
        var bytes = new ScoreAnswerBytes();
        var scratch = new RequestScratch();
        var failed = false;
        return Pump(requestStream, responseStream, context, (item, catalog) =>
        {
            bytes.Reset();
            failed = !ScoreItem(item, catalog, context, bytes, scratch, inBatch: false);
            frame.Bytes = bytes.Bytes;
            return carrier;
        }, (stats, _) => stats.StreamItem(failed));
    }

    /// <summary>
    /// ScoreWorks with several items per message: each batch answered by one message, its items scored in order by the
    /// same code as ScoreWorks' (<see cref="ScoreItem"/>), so an item's answer is the same bytes. The answer is written as
    /// bytes through the stream's one carrier, its buffer rewritten batch after batch. A batch of more than
    /// <see cref="RequestLimits.MaxBatchItems"/> items, or of more than <see cref="RequestLimits.MaxBatchExplained"/> that ask
    /// for the explanation, ends the call with INVALID_ARGUMENT naming "items", before any of its items is scored.
    /// </summary>
    public override Task ScoreWorkBatches(IAsyncStreamReader<ScoreWorkBatchesRequest> requestStream,
        IServerStreamWriter<ScoreWorkBatchesResponse> responseStream, ServerCallContext context)
    {
        var (carrier, frame) = AllocationFrames.Carrier<ScoreWorkBatchesResponse>();
        var bytes = new ScoreAnswerBytes();
        var scratch = new RequestScratch();
        int count = 0, failed = 0;
        return Pump(requestStream, responseStream, context, (batch, catalog) =>
        {
            var items = batch.Items;
            RequestLimits.CheckBatch(items.Count, RequestLimits.MaxBatchItems);
            var explained = 0;
            for (var i = 0; i < items.Count; i++)
                if (items[i].Request is { TotalsOnly: false }) explained++;
            if (explained > RequestLimits.MaxBatchExplained)
                throw new InvalidRequestException([new FieldError("items",
                    $"at most {RequestLimits.MaxBatchExplained} items with the explanation (totals_only false) in one batch, got {explained} (request limit)")]);
            bytes.Reset();
            (count, failed) = (items.Count, 0);
            for (var i = 0; i < items.Count; i++)
                if (!ScoreItem(items[i], catalog, context, bytes, scratch, inBatch: true)) failed++;
            frame.Bytes = bytes.Bytes;
            return carrier;
        }, (stats, _) =>
        {
            for (var i = 0; i < count; i++) stats.StreamItem(i < failed);
        }, _ => count);
    }

    /// <summary>
    /// The loop of the scoring streams: read a message, answer it, write the answer, read the next. Nothing is buffered
    /// beyond the message in hand and answers for at most <see cref="MaxUnflushed"/> items not yet flushed (HTTP/2 flow
    /// control holds a fast caller back), so a stream of any length runs in constant memory. The whole stream is scored
    /// with the rules it started with; cancellation and the deadline are checked between messages. An answer may be
    /// the same message object every time: it is rewritten only once the previous one's bytes are written.
    /// </summary>
    /// <param name="requestStream">The caller's messages.</param>
    /// <param name="responseStream">The answers, one per message.</param>
    /// <param name="context">The call.</param>
    /// <param name="answer">The answer to a message, scored with the stream's catalog.</param>
    /// <param name="written">Counts a written answer's items in the stream statistics.</param>
    /// <param name="items">How many items an answer holds (1 when null).</param>
    private async Task Pump<TRequest, TAnswer>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TAnswer> responseStream,
        ServerCallContext context, Func<TRequest, RuleCatalog, TAnswer> answer, Action<ScoringStats, TAnswer> written,
        Func<TAnswer, int>? items = null)
        where TAnswer : class
    {
        var ct = context.CancellationToken;
        var catalog = rules.Current; // the whole stream is scored with the rules it started with
        stats.StreamStarted();
        try
        {
            TAnswer? pending = null;
            var unflushed = 0;
            while (true)
            {
                var next = requestStream.MoveNext(ct);
                if (pending is not null)
                {
                    // While the caller's next request is already here, answers are handed to the transport without a
                    // flush each (one write per batch instead of per message); as soon as the caller pauses, or after
                    // MaxUnflushed items, they are flushed. So a busy stream is batched, an interactive one is not
                    // delayed, and at most MaxUnflushed answered items wait in memory.
                    var flush = !next.IsCompleted || unflushed >= MaxUnflushed;
                    responseStream.WriteOptions = flush ? null : Buffered;
                    await responseStream.WriteAsync(pending, ct);
                    unflushed = flush ? 0 : unflushed + (items?.Invoke(pending) ?? 1);
                    written(stats, pending);
                    pending = null;
                }
                if (!await next) break;
                ct.ThrowIfCancellationRequested();
                pending = answer(requestStream.Current, catalog);
            }
        }
        catch (Exception ex) when (ct.IsCancellationRequested || ex is IOException)
        {
            // The caller cancelled, its deadline passed, or it reset the stream (the transport's IOException may
            // come before the token is cancelled).
            stats.StreamCancelled();
            throw;
        }
        finally
        {
            stats.StreamEnded();
        }
    }

    /// <summary>The answer to a mapped request as a message, its reform set.</summary>
    private static ScoreWorkResponse Answer(ScoringRequest mapped, RuleCatalog catalog)
    {
        var response = ResponseMapper.Score(mapped);
        response.Reform = ReformMapper.Applied(mapped.RuleSet, catalog, mapped.ReformSource);
        return response;
    }

    /// <summary>
    /// One stream item's answer (a <see cref="ScoreWorksResponse"/>) written into <paramref name="into"/> after what it holds:
    /// its request id, then the score (encoded from the totals for totals_only, the message for the explanation) or the error
    /// item. False for an error item. A totals item is mapped into the stream's <paramref name="scratch"/> (its answer is written
    /// before the next item is mapped), one with the explanation afresh.
    /// </summary>
    private bool ScoreItem(ScoreWorksRequest item, RuleCatalog catalog, ServerCallContext context, ScoreAnswerBytes into, RequestScratch scratch, bool inBatch)
    {
        var method = context.Method;
        into.BeginItem(item.RequestId, inBatch);
        var scored = false;
        try
        {
            var request = item.Request ?? new ScoreWorkRequest();
            var mapped = RequestMapper.Map(request, catalog, RequestMapper.AsksTotals(request) ? scratch : null);
            context.ResolvedRuleSet(mapped.RuleSet);
            // Scored before anything of the answer is written: a rule that fails leaves the item to its error.
            if (ResponseMapper.AsksTotals(mapped)) into.Totals(mapped, ReformMapper.Applied(mapped.RuleSet, catalog, mapped.ReformSource));
            else into.Response(Answer(mapped, catalog));
            metrics.WorkScored(mapped.RuleSet);
            scored = true;
        }
        catch (Exception ex) when (GrpcErrors.ForKnown(ex) is { } status)
        {
            into.Error(status);
        }
        catch (RuleEvaluationException ex)
        {
            var id = GrpcErrors.NewCorrelationId();
            logger.LogError("rule evaluation failed, correlation id {CorrelationId}, in {Method} item {RequestId}: {Failure}", id, method,
                GrpcErrors.Cut(item.RequestId), ex.Message);
            into.Error(GrpcErrors.RuleFailed(ex, id));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One work whose rules failed must not break the other works of the stream.
            var id = GrpcErrors.NewCorrelationId();
            logger.LogError(ex, "internal error, correlation id {CorrelationId}, in {Method} item {RequestId}", id, method, GrpcErrors.Cut(item.RequestId));
            into.Error(GrpcErrors.Internal(id));
        }
        into.EndItem(inBatch);
        return scored;
    }
}
