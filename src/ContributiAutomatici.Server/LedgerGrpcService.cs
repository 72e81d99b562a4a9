using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Ledger;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// The ledger's database, opened (and migrated) at the first ledger call, not at start: a server that never serves the
/// ledger never touches it. <see cref="Target"/> is Contributi:Ledger, or the default SQLite file.
/// </summary>
public sealed class LedgerHolder(string? configured)
{
    private readonly Lazy<LedgerStore> _store = new(() => LedgerStore.Open(Resolve(configured)), LazyThreadSafetyMode.ExecutionAndPublication);

    public string Target => Resolve(configured);

    public LedgerStore Store => _store.Value;

    private static string Resolve(string? configured) => string.IsNullOrWhiteSpace(configured)
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
            "contributi-automatici", "ledger.db")
        : configured;
}

/// <summary>
/// contributi.v1.LedgerService, thin: requests mapped to the ledger (<see cref="LedgerMapper"/>), each call one ledger
/// transaction on a pool thread. A refusal is INVALID_ARGUMENT with a BadRequest, FAILED_PRECONDITION with a
/// PreconditionFailure (type: the article, subject: the field), or NOT_FOUND; anything else goes to ErrorInterceptor.
/// </summary>
[BindServiceMethod(typeof(LedgerServiceBinding), nameof(LedgerServiceBinding.BindService))]
public sealed class LedgerGrpcService(LiveRules rules, LedgerHolder ledger) : LedgerService.LedgerServiceBase
{
    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    public override Task<PostAllocationResponse> PostAllocation(PostAllocationRequest request, ServerCallContext context) => Run(() =>
    {
        var on = LedgerMapper.Date(request.PostedOn, "posted_on", Today);
        var (posting, _) = YearPosting.Allocate(rules.Current, Protocol.AllocationMapper.Items(request.Year ?? new AllocationYear()), on);
        return LedgerMapper.Posted(ledger.Store.Post(posting with
        {
            Supersede = request.Supersede, IdempotencyKey = request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey,
        }));
    });

    public override Task<GetStatementResponse> GetStatement(GetStatementRequest request, ServerCallContext context) => Run(() =>
        new GetStatementResponse { Statement = LedgerMapper.Statement(ledger.Store.Statement(request.CompanyId, LedgerMapper.Date(request.At, "at", Today))) });

    public override Task<GetBalanceResponse> GetBalance(GetBalanceRequest request, ServerCallContext context) => Run(() =>
        LedgerMapper.Balance(ledger.Store.Statement(request.CompanyId, LedgerMapper.Date(request.At, "at", Today))));

    public override Task<ReinvestResponse> Reinvest(ReinvestRequest request, ServerCallContext context) => Run(() =>
        LedgerMapper.Drawn(ledger.Store.Draw(DacList.Checked(LedgerMapper.Draw(request, Today), rules.Current))));

    public override Task<ExpireResponse> Expire(ExpireRequest request, ServerCallContext context) => Run(() =>
        new ExpireResponse
        {
            Report = LedgerMapper.Lapsed(ledger.Store.Expire(LedgerMapper.Date(request.On, "on", Today),
                request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey)),
        });

    public override Task<ReportBreachResponse> ReportBreach(ReportBreachRequest request, ServerCallContext context) => Run(() =>
        new ReportBreachResponse
        {
            Report = LedgerMapper.Lapsed(ledger.Store.Breach(new BreachRequest(request.CompanyId, request.WorkId, request.Clause,
                LedgerMapper.Date(request.On, "on", Today)) { IdempotencyKey = request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey })),
        });

    private static async Task<T> Run<T>(Func<T> call)
    {
        try
        {
            return await Task.Run(call);
        }
        catch (LedgerRefusal r)
        {
            throw Status(r).ToRpcException();
        }
    }

    /// <summary>The status of a refusal, its field and article in the message and in the details.</summary>
    public static Google.Rpc.Status Status(LedgerRefusal r)
    {
        var message = $"{GrpcErrors.Cut(r.Field)}: {GrpcErrors.Cut(r.Reason, 1000)} [{r.Article}]";
        return r.Kind switch
        {
            RefusalKind.InvalidArgument => new Google.Rpc.Status
            {
                Code = (int)Code.InvalidArgument, Message = "invalid request: " + message,
                Details =
                {
                    Any.Pack(new BadRequest
                    {
                        FieldViolations = { new BadRequest.Types.FieldViolation { Field = GrpcErrors.Cut(r.Field), Description = $"{GrpcErrors.Cut(r.Reason)} [{r.Article}]" } },
                    }),
                },
            },
            RefusalKind.FailedPrecondition => new Google.Rpc.Status
            {
                Code = (int)Code.FailedPrecondition, Message = message,
                Details =
                {
                    Any.Pack(new PreconditionFailure
                    {
                        Violations = { new PreconditionFailure.Types.Violation { Type = r.Article, Subject = GrpcErrors.Cut(r.Field), Description = GrpcErrors.Cut(r.Reason, 1000) } },
                    }),
                },
            },
            _ => GrpcErrors.NotFound(message),
        };
    }
}

/// <summary>The same as <see cref="ScoringServiceBinding"/> for contributi.v1.LedgerService (malformed messages are INVALID_ARGUMENT).</summary>
public static class LedgerServiceBinding
{
    /// <summary>The generated descriptor of contributi.v1.LedgerService.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => LedgerService.Descriptor;

    /// <summary>Called by Grpc.AspNetCore with its binder; <paramref name="serviceImpl"/> is null there.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, LedgerService.LedgerServiceBase? serviceImpl) =>
        LedgerService.BindService(new ScoringServiceBinding.TolerantBinder(serviceBinder), serviceImpl!);
}
