namespace ContributiAutomatici.Server;

/// <summary>Counters of the scoring service (a singleton): what is running now and what was done.</summary>
public sealed class ScoringStats
{
    private long _activeStreams;
    private long _streamItems;
    private long _streamErrorItems;
    private long _unaryScores;
    private long _cancelledStreams;

    /// <summary>ScoreWorks and ScoreWorkBatches calls whose handler is running now.</summary>
    public long ActiveStreams => Interlocked.Read(ref _activeStreams);

    /// <summary>ScoreWorks and ScoreWorkBatches items answered (responses and error items).</summary>
    public long StreamItems => Interlocked.Read(ref _streamItems);

    /// <summary>ScoreWorks and ScoreWorkBatches items answered with an error.</summary>
    public long StreamErrorItems => Interlocked.Read(ref _streamErrorItems);

    /// <summary>ScoreWork calls answered with a score.</summary>
    public long UnaryScores => Interlocked.Read(ref _unaryScores);

    /// <summary>ScoreWorks and ScoreWorkBatches calls that ended because the caller cancelled or the deadline passed.</summary>
    public long CancelledStreams => Interlocked.Read(ref _cancelledStreams);

    internal void StreamStarted() => Interlocked.Increment(ref _activeStreams);
    internal void StreamEnded() => Interlocked.Decrement(ref _activeStreams);
    internal void StreamCancelled() => Interlocked.Increment(ref _cancelledStreams);
    internal void StreamItem(bool error)
    {
        Interlocked.Increment(ref _streamItems);
        if (error) Interlocked.Increment(ref _streamErrorItems);
    }
    internal void UnaryScored() => Interlocked.Increment(ref _unaryScores);
}
