using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace ContributiAutomatici.Client;

/// <summary>
/// Settings of a <see cref="ContributiClient"/>: where the server is, how long one attempt may take, how
/// failed idempotent calls are retried, and when the circuit breaker stops calling a failing server.
/// </summary>
public sealed record ContributiClientOptions
{
    /// <summary>
    /// The server, e.g. <c>http://127.0.0.1:50051</c> (h2c) or <c>https://scoring.example:50051</c>; or, for replicas,
    /// <c>dns:///contributi-automatici-grpc.contributi.svc.cluster.local:50051</c>: every address DNS answers (a Kubernetes
    /// headless Service), calls spread over them round robin, re-resolved when a connection fails (plaintext h2c; set
    /// <see cref="Tls"/> for TLS).
    /// </summary>
    public required Uri Address { get; init; }

    /// <summary>
    /// A static list of replicas (<c>http://10.0.0.5:50051</c>, ...): calls spread over those that are up, round robin, and
    /// <see cref="Address"/> is not dialled (its scheme is still read: https for TLS). Null or empty: <see cref="Address"/> alone.
    /// </summary>
    public IReadOnlyList<Uri>? Replicas { get; init; }

    /// <summary>With a <c>dns:///</c> address: speak TLS to the replicas. Default false (h2c).</summary>
    public bool Tls { get; init; }

    /// <summary>Whether calls are balanced over several replicas (a <c>dns:///</c> address or <see cref="Replicas"/>).</summary>
    public bool Balanced => Address.Scheme == "dns" || Replicas is { Count: > 0 };

    /// <summary>The gRPC deadline of one attempt of a unary call (each retry gets a fresh one). Default 10 s.</summary>
    public TimeSpan PerCallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of one attempt of an allocation (a whole year streamed in and out).</summary>
    public TimeSpan AllocationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Most items of a year the allocation (<see cref="ContributiClient.AllocateAsync(IReadOnlyList{Contracts.V1.AllocateRequest}, CancellationToken)"/>)
    /// puts in one message of the AllocateBatches stream: the server's limit.</summary>
    public const int AllocationBatchItems = 4_096;

    /// <summary>Most bytes of items in one AllocateBatches message (a single larger item travels alone): well inside the
    /// server's 4 MiB per message.</summary>
    public const int AllocationBatchBytes = 1024 * 1024;

    /// <summary>Retries after the first attempt of an idempotent call (0 = no retry). Default 4.</summary>
    public int RetryCount { get; init; } = 4;

    /// <summary>The first retry's delay; each next one doubles it (exponential back-off). Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>No retry waits longer than this. Default 5 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Randomise the back-off (decorrelated jitter) so many clients do not retry in lock-step. Default true.</summary>
    public bool UseJitter { get; init; } = true;

    /// <summary>The circuit opens when at least this share of the attempts in <see cref="CircuitBreakerSamplingDuration"/>
    /// failed with UNAVAILABLE or DEADLINE_EXCEEDED (0-1). Default 0.5.</summary>
    public double CircuitBreakerFailureRatio { get; init; } = 0.5;

    /// <summary>...and at least this many attempts were made in that window (>= 2). Default 20.</summary>
    public int CircuitBreakerMinimumThroughput { get; init; } = 20;

    /// <summary>The window over which the failure ratio is measured (>= 0.5 s). Default 30 s.</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit fails calls at once before letting one trial call through (>= 0.5 s). Default 5 s.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Called before each retry (from a pool thread): count or log retries here.</summary>
    public Action<ContributiRetryEvent>? OnRetry { get; init; }

    /// <summary>Called when the circuit opens, half-opens or closes.</summary>
    public Action<ContributiCircuitEvent>? OnCircuitChange { get; init; }

    /// <summary>Logs of the gRPC channel and of the retries; none when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>A handler of your own (proxy, client certificate, test hooks); by default a SocketsHttpHandler
    /// with several HTTP/2 connections allowed and keep-alive pings. The client disposes it. To send through a
    /// background loop as the default handler does (<see cref="WriteBehind"/>), set its ConnectCallback to
    /// <see cref="ContributiClient.ConnectWithWriteBehindAsync"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>The default handler's connections send from a background loop: a write returns once copied, and
    /// what is written while a send is under way leaves with the next one (as Kestrel does on the server's side).
    /// 1.4-1.6x the ScoreWorks stream's rate on the load benchmark; nothing changes on the wire but how bytes are grouped into sends.
    /// Default true; false: SocketsHttpHandler's own connection, which sends inline. Ignored with <see cref="HttpHandler"/>, and
    /// when balancing over replicas (<see cref="Balanced"/>): Grpc.Net.Client's balancer makes each replica's connection
    /// itself and refuses a handler with a ConnectCallback.</summary>
    public bool WriteBehind { get; init; } = true;

    /// <summary>
    /// Most works the bulk scoring (<see cref="ContributiClient.ScoreWorksAsync(IAsyncEnumerable{Contracts.V1.ScoreWorksRequest}, DateTime?, CancellationToken)"/>)
    /// puts in one message of the ScoreWorkBatches stream: the requests already at hand, up to this many (and up to
    /// <see cref="StreamBatchBytes"/>), leave together; when the source of requests pauses, what is gathered leaves at
    /// once. Default 256; at most <see cref="MaxStreamBatchSize"/>, the server's limit. 1: one work per message on the
    /// ScoreWorks stream, as clients before the batched stream did.
    /// </summary>
    public int StreamBatchSize { get; init; } = DefaultStreamBatchSize;

    /// <summary>The default of <see cref="StreamBatchSize"/>.</summary>
    public const int DefaultStreamBatchSize = 256;

    /// <summary>The server's limit of items in one ScoreWorkBatches message.</summary>
    public const int MaxStreamBatchSize = 1_000;

    /// <summary>A batch of the bulk scoring holds at most this many works that ask for the explanation (not totals_only),
    /// the server's limit: their answers are a few KiB each, and a batch's answers travel in one message, which the client
    /// decodes only once it is whole; on the load benchmark the explained stream ran 14-15 k works/s in batches of 32, 13 k
    /// one per message and 7-10 k in batches of 256.</summary>
    public const int StreamBatchExplained = 32;

    /// <summary>A batch of the bulk scoring holds at most this many bytes of requests (a single larger request
    /// travels alone): well inside the server's 4 MiB per message, and its answers inside the 16 MiB a response may have.</summary>
    public const int StreamBatchBytes = 256 * 1024;

    /// <summary>Largest response accepted: 16 MiB, the server's send limit (GetRuleSet is the large one).</summary>
    public int MaxReceiveMessageSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest request sent: 4 MiB, the server's receive limit.</summary>
    public int MaxSendMessageSize { get; init; } = 4 * 1024 * 1024;
}

/// <summary>A retry about to happen.</summary>
/// <param name="Operation">The RPC: ListRuleSets, GetRuleSet or ScoreWork.</param>
/// <param name="Attempt">0 for the first retry, 1 for the second...</param>
/// <param name="Delay">How long the client waits before it.</param>
/// <param name="StatusCode">Why: the failed attempt's status (UNAVAILABLE for an open circuit).</param>
/// <param name="Reason">The failed attempt's message.</param>
public sealed record ContributiRetryEvent(string Operation, int Attempt, TimeSpan Delay, StatusCode StatusCode, string Reason);

/// <summary>The circuit breaker changed state.</summary>
/// <param name="State">"open", "half-open" or "closed".</param>
/// <param name="BreakDuration">For "open": how long calls fail at once.</param>
public sealed record ContributiCircuitEvent(string State, TimeSpan? BreakDuration);
