using System.Diagnostics;
using System.Text;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Loading;

/// <summary>A reform could not be compiled for a reason of the compiler, not of the reform: its worker crashed, timed out or is busy.</summary>
public sealed class ReformCompilerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What the server's reform compiler does (server option ReformCompiler).</summary>
public static class ReformCompilerModes
{
    /// <summary>In worker processes (default): Roslyn is never loaded into the server.</summary>
    public const string Worker = "worker";

    /// <summary>In the server's own process (as the CLI does): Roslyn and its garbage stay in the server.</summary>
    public const string InProcess = "inprocess";
}

/// <summary>
/// Compiles structural what-if reforms (issue 28) out of the server's process: a worker is the server's own executable started
/// in worker mode (<see cref="Serve"/>), which reads a merged rule-set definition (<see cref="DefinitionCodec"/>, the format of
/// the definitions cache), parses, sandboxes and compiles it with Roslyn, and answers with the image or with the rule errors
/// (file, line, column, message: a refused reform names its own line as when compiled in-process). The server verifies the image
/// (<see cref="RuleAssemblyVerifier"/>, as for a cached one) and loads it into a collectible load context
/// (<see cref="ReformCache"/>): Roslyn's assemblies, its JIT-compiled code and its garbage stay in the worker. At most
/// <see cref="MaxWorkers"/> workers run at a time, each compiling up to <see cref="PerWorker"/> definitions side by side (the
/// rule sets of one reload, the version and each combination of its overlays, compile in parallel as in-process: issue 27 item 5;
/// further requests wait); a worker idle for <see cref="Idle"/> exits (its memory returned to the system); one that crashes or
/// takes longer than <see cref="Timeout"/> fails the requests it was compiling (<see cref="ReformCompilerException"/>) and is
/// replaced by a fresh one at the next. <see cref="Stop"/> ends them all.
/// <para>The frames between the server and a worker carry a request number: the worker answers each request when it is
/// compiled, in any order, and the server hands each answer to the request it belongs to.</para>
/// </summary>
public sealed class ReformWorkers : IDisposable
{
    private const string Magic = "contributi-reform-worker/2";
    private const byte ImageReply = 0, ErrorsReply = 1, FailureReply = 2;

    /// <summary>Largest frame read from either side (a definition or an image is well under a few MB).</summary>
    private const int MaxFrame = 64 * 1024 * 1024;

    private readonly string _fileName;
    private readonly IReadOnlyList<string> _arguments;
    private readonly Action<string> _log;
    private readonly SemaphoreSlim _slots;
    private readonly object _gate = new();
    private readonly object _starting = new();
    private readonly List<Worker> _all = [];
    private readonly Timer _reaper;
    private long _started, _compilations, _failures;
    private int _peakInFlight;

    /// <param name="fileName">The program a worker runs (the server's executable, or dotnet).</param>
    /// <param name="arguments">Its arguments (the server's dll if <paramref name="fileName"/> is dotnet, then the worker switch).</param>
    /// <param name="maxWorkers">Most workers at a time (at least 1).</param>
    /// <param name="idle">A worker unused this long exits.</param>
    /// <param name="timeout">Longest compilation: a worker still at it is killed and the request fails.</param>
    /// <param name="log">Where a worker's failure is told (with what it wrote to its stderr).</param>
    /// <param name="perWorker">Most definitions one worker compiles side by side (0: one per processor of the machine).</param>
    public ReformWorkers(string fileName, IReadOnlyList<string> arguments, int maxWorkers, TimeSpan idle, TimeSpan timeout, Action<string>? log = null,
        int perWorker = 0)
    {
        _fileName = fileName;
        _arguments = arguments;
        MaxWorkers = Math.Max(1, maxWorkers);
        PerWorker = perWorker > 0 ? perWorker : Math.Max(1, Environment.ProcessorCount);
        Idle = idle > TimeSpan.Zero ? idle : TimeSpan.FromSeconds(1);
        Timeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.FromSeconds(1);
        _log = log ?? (_ => { });
        _slots = new SemaphoreSlim(MaxWorkers * PerWorker, MaxWorkers * PerWorker);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(Idle.TotalMilliseconds / 4, 100, 5000));
        _reaper = new Timer(_ => Reap(), null, period, period);
    }

    public int MaxWorkers { get; }

    /// <summary>Most definitions one worker compiles side by side.</summary>
    public int PerWorker { get; }

    public TimeSpan Idle { get; }
    public TimeSpan Timeout { get; }

    /// <summary>Worker processes started since the server started.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Compilations answered by a worker (an image or the reform's errors).</summary>
    public long Compilations => Interlocked.Read(ref _compilations);

    /// <summary>Compilations failed by a worker (crash, timeout, a malformed answer).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The most compilations one worker has had under way at once (for the tests).</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>The process ids of the workers alive now (for the benchmark's memory and the tests).</summary>
    public IReadOnlyList<int> ProcessIds
    {
        get { lock (_gate) return _all.Where(w => !w.Exited).Select(w => w.Id).ToList(); }
    }

    /// <summary>
    /// For <see cref="RuleCompileOptions.Emit"/>: the image of <paramref name="def"/> compiled by a worker and verified here as
    /// <paramref name="assemblyName"/>, or null with the reform's errors added to <paramref name="errors"/>. Never compiles here.
    /// </summary>
    public byte[]? Emit(RuleSetDefinition def, string assemblyName, List<RuleError> errors, Func<byte[]?> emitHere)
    {
        var request = Request(def, assemblyName);
        if (!_slots.Wait(Timeout))
            throw new ReformCompilerException($"the reform compiler is busy ({MaxWorkers} worker(s) compiling {PerWorker} each for longer than {Timeout.TotalSeconds:0} s)");
        try
        {
            var worker = Take();
            byte[] reply;
            try
            {
                reply = worker.Call(request, Timeout);
            }
            catch (Exception ex)
            {
                var why = worker.TimedOut ? $"took longer than {Timeout.TotalSeconds:0} s"
                    : worker.Exited ? $"stopped (exit code {worker.ExitCode})" : ex.Message;
                Failed(worker, why);
                Retire(worker);
                throw new ReformCompilerException($"the reform compiler {why}", ex);
            }
            // It answered: it serves again (an answer that is a failure is the compilation's, not the worker's).
            Give(worker);
            Interlocked.Increment(ref _compilations);
            byte[]? image;
            try
            {
                image = Read(reply, errors);
            }
            catch (Exception ex) when (ex is not RuleLoadException)
            {
                Failed(worker, ex.Message);
                throw ex as ReformCompilerException ?? new ReformCompilerException($"the reform compiler {ex.Message}", ex);
            }
            if (image is null) return null;
            var problems = RuleAssemblyVerifier.Check(image, assemblyName);
            if (problems.Count > 0)
                throw new ReformCompilerException("the reform compiler's image does not pass the rule language check: " + string.Join("; ", problems.Take(3)));
            return image;
        }
        finally
        {
            _slots.Release();
        }
    }

    private void Failed(Worker worker, string why)
    {
        Interlocked.Increment(ref _failures);
        _log($"reform compiler worker {worker.Id} {why}; {(worker.Stderr is { Length: > 0 } e ? "its stderr: " + e : "nothing on its stderr")}");
    }

    private static byte[] Request(RuleSetDefinition def, string assemblyName)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(def.Directory);
            w.Write(assemblyName);
            DefinitionCodec.Write(w, def);
        }
        return ms.ToArray();
    }

    /// <summary>The image of a reply, or null with its errors added; throws on a failure of the worker.</summary>
    private static byte[]? Read(byte[] reply, List<RuleError> errors)
    {
        using var r = new BinaryReader(new MemoryStream(reply), Encoding.UTF8);
        switch (r.ReadByte())
        {
            case ImageReply:
                return r.ReadBytes(Length(r.ReadInt32()));
            case ErrorsReply:
                for (var n = Length(r.ReadInt32()); n > 0; n--)
                {
                    var file = r.ReadString();
                    var line = r.ReadInt32();
                    var column = r.ReadInt32();
                    errors.Add(new RuleError(file, line, r.ReadString(), column));
                }
                return null;
            case FailureReply:
                throw new ReformCompilerException("the reform compiler failed: " + r.ReadString());
            default:
                throw new ReformCompilerException("the reform compiler answered something else than an image or errors");
        }
    }

    private static int Length(int n) => n is >= 0 and <= MaxFrame ? n : throw new InvalidDataException($"length {n}");

    /// <summary>
    /// Starts a worker, in the background, ahead of a compilation that may come (a file of the rules folder changed: the reload
    /// that follows compiles if an expression was edited), so that it does not wait for the worker's process and Roslyn's first
    /// start (the worker warms Roslyn up as it starts). Nothing if a worker is alive; a start that fails is the compilation's to
    /// try again and report. The worker exits after <see cref="Idle"/> if nothing comes.
    /// </summary>
    public void Prepare()
    {
        lock (_gate)
            if (_all.Any(static w => !w.Exited)) return;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            try
            {
                lock (_starting)
                {
                    lock (_gate)
                        if (_all.Any(static w => !w.Exited)) return;
                    var worker = Worker.Start(_fileName, _arguments);
                    Interlocked.Increment(ref _started);
                    lock (_gate) _all.Add(worker);
                }
            }
            catch (ReformCompilerException ex)
            {
                _log(ex.Message);
            }
        });
    }

    /// <summary>A worker with room for one more compilation (the least busy alive), else a new one; counted as in flight.</summary>
    private Worker Take()
    {
        if (TakeAlive() is { } alive) return alive;
        // One start at a time: two requests arriving together share the worker the first starts (the slots bound the rest).
        lock (_starting)
        {
            if (TakeAlive() is { } started) return started;
            var worker = Worker.Start(_fileName, _arguments);
            Interlocked.Increment(ref _started);
            lock (_gate)
            {
                _all.Add(worker);
                Enter(worker);
            }
            return worker;
        }
    }

    private Worker? TakeAlive()
    {
        lock (_gate)
        {
            Worker? best = null;
            foreach (var w in _all)
                if (!w.Exited && w.InFlight < PerWorker && (best is null || w.InFlight < best.InFlight)) best = w;
            if (best is not null) Enter(best);
            return best;
        }
    }

    // Under _gate.
    private void Enter(Worker worker)
    {
        worker.InFlight++;
        if (worker.InFlight > _peakInFlight) Volatile.Write(ref _peakInFlight, worker.InFlight);
    }

    private void Give(Worker worker)
    {
        lock (_gate) worker.InFlight--;
        if (!IsKept(worker)) worker.Dispose(); // stopped meanwhile
    }

    private bool IsKept(Worker worker)
    {
        lock (_gate) return _all.Contains(worker);
    }

    private void Retire(Worker worker)
    {
        lock (_gate)
        {
            worker.InFlight--;
            _all.Remove(worker);
        }
        worker.Dispose();
    }

    /// <summary>Lets the workers idle for longer than <see cref="Idle"/> exit (their standard input closed, then killed if they linger).</summary>
    private void Reap()
    {
        List<Worker> done;
        lock (_gate)
        {
            var now = Environment.TickCount64;
            done = _all.Where(w => w.InFlight == 0 && (w.Exited || now - w.LastUsed >= Idle.TotalMilliseconds)).ToList();
            if (done.Count == 0) return;
            foreach (var w in done) _all.Remove(w);
        }
        foreach (var w in done) w.Dispose();
    }

    /// <summary>
    /// Ends every worker now (a compilation under way fails). The pool stays usable: a later reform starts a worker again (a rule
    /// catalog shared by servers of one process, as in the tests, keeps working).
    /// </summary>
    public void Stop()
    {
        List<Worker> all;
        lock (_gate)
        {
            all = [.. _all];
            _all.Clear();
        }
        foreach (var w in all) w.Dispose();
    }

    public void Dispose()
    {
        _reaper.Dispose();
        Stop();
    }

    /// <summary>
    /// One worker process: its pipes, what it last wrote to its stderr, and the requests it is compiling (each answer read by one
    /// reader thread and handed to the request of its number).
    /// </summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly Stream _input, _output;
        private readonly StringBuilder _stderr = new();
        private readonly Lock _writing = new();
        private readonly Dictionary<int, TaskCompletionSource<byte[]>> _pending = [];
        private Exception? _closed; // why the answers ended (guarded by _pending)
        private int _nextRequest;
        private volatile bool _timedOut;
        private int _disposed;

        private Worker(Process process)
        {
            _process = process;
            _input = process.StandardInput.BaseStream;
            _output = process.StandardOutput.BaseStream;
            Id = process.Id;
            LastUsed = Environment.TickCount64;
        }

        public int Id { get; }
        public long LastUsed { get; private set; }

        /// <summary>Compilations given to this worker and not yet answered (guarded by the pool's gate).</summary>
        public int InFlight { get; set; }

        public bool TimedOut => _timedOut;
        public bool Exited => Volatile.Read(ref _disposed) != 0 || _process.HasExited;
        public int ExitCode => Volatile.Read(ref _disposed) == 0 && _process.HasExited ? _process.ExitCode : -1;

        public string Stderr
        {
            get { lock (_stderr) return _stderr.ToString().Trim(); }
        }

        public static Worker Start(string fileName, IReadOnlyList<string> arguments)
        {
            var info = new ProcessStartInfo(fileName)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in arguments) info.ArgumentList.Add(a);
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new ReformCompilerException($"the reform compiler could not be started ({fileName})");
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new ReformCompilerException($"the reform compiler could not be started ({fileName}: {ex.Message})", ex);
            }
            var worker = new Worker(process);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not { } line) return;
                lock (worker._stderr)
                {
                    if (worker._stderr.Length > 4000) worker._stderr.Remove(0, worker._stderr.Length - 2000);
                    worker._stderr.AppendLine(line);
                }
            };
            process.BeginErrorReadLine();
            new Thread(worker.ReadAnswers) { IsBackground = true, Name = $"reform worker {worker.Id} answers" }.Start();
            return worker;
        }

        /// <summary>
        /// Sends a request and waits for its answer; the worker is killed when the answer takes longer than <paramref name="timeout"/>
        /// (the other requests it was compiling then fail too).
        /// </summary>
        public byte[] Call(byte[] request, TimeSpan timeout)
        {
            var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            var number = Interlocked.Increment(ref _nextRequest);
            lock (_pending)
            {
                if (_closed is { } why) throw new EndOfStreamException("the worker closed its output", why);
                _pending.Add(number, answer);
            }
            using var watchdog = new Timer(_ =>
            {
                _timedOut = true;
                Kill();
            }, null, timeout, System.Threading.Timeout.InfiniteTimeSpan);
            try
            {
                lock (_writing) WriteFrame(_input, number, request);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                lock (_pending) _pending.Remove(number);
                throw;
            }
            var reply = answer.Task.GetAwaiter().GetResult();
            LastUsed = Environment.TickCount64;
            return reply;
        }

        /// <summary>The reader thread: each answer to the request of its number, until the worker's output ends.</summary>
        private void ReadAnswers()
        {
            Exception why;
            try
            {
                while (ReadFrame(_output) is { } frame)
                {
                    var (number, payload) = Split(frame);
                    TaskCompletionSource<byte[]>? answer;
                    lock (_pending)
                        if (_pending.Remove(number, out answer) is false) answer = null;
                    answer?.TrySetResult(payload);
                }
                why = new EndOfStreamException("the worker closed its output");
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or ObjectDisposedException)
            {
                why = ex;
            }
            List<TaskCompletionSource<byte[]>> orphans;
            lock (_pending)
            {
                _closed = why;
                orphans = [.. _pending.Values];
                _pending.Clear();
            }
            foreach (var o in orphans) o.TrySetException(why is EndOfStreamException ? why : new EndOfStreamException("the worker closed its output", why));
        }

        private void Kill()
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }

        /// <summary>Ends the worker, once (a worker stopped by <see cref="Stop"/> may be disposed again by the request it was serving).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            // Asked to leave (its input closed: it exits at the end of the stream, once its compilations are answered), then made to.
            // Not under the write lock: a write blocked on a worker that no longer reads must not hold up its end (it fails).
            try { _input.Dispose(); }
            catch (IOException) { }
            if (!_process.WaitForExit(2000)) Kill();
            _process.WaitForExit(2000);
            _process.Dispose();
        }
    }

    /// <summary>A frame's request number and the rest of it.</summary>
    private static (int Number, byte[] Payload) Split(byte[] frame)
    {
        if (frame.Length < 4) throw new InvalidDataException($"a frame of {frame.Length} bytes has no request number");
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(frame), frame[4..]);
    }

    private static void WriteFrame(Stream stream, int number, byte[] payload)
    {
        Span<byte> head = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head, payload.Length + 4);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head[4..], number);
        stream.Write(head);
        stream.Write(payload);
        stream.Flush();
    }

    /// <summary>A frame, or null at the end of the stream before one begins.</summary>
    private static byte[]? ReadFrame(Stream stream)
    {
        Span<byte> length = stackalloc byte[4];
        var got = stream.ReadAtLeast(length, 4, throwOnEndOfStream: false);
        if (got == 0) return null;
        if (got < 4) throw new EndOfStreamException();
        var payload = new byte[Length(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(length))];
        stream.ReadExactly(payload);
        return payload;
    }

    /// <summary>
    /// The worker's side (the server's executable started with the worker switch): reads requests from <paramref name="input"/>
    /// until its end, compiles each (Roslyn, the sandbox, no cache: nothing written), side by side with the others under way, and
    /// writes each reply to <paramref name="output"/> under its request's number as soon as it is ready. Returns the exit code once
    /// every compilation under way is answered: 0 at the end of the input, 2 on a malformed request (nothing more is read).
    /// </summary>
    public static int Serve(Stream input, Stream output)
    {
        // Roslyn's first start, while the first request is still on its way (the server reads and merges the rule files it sends).
        var warmUp = Task.Run(RuleCompiler.WarmUp);
        var writing = new Lock();
        var underWay = new List<Task>();
        void Answer(int number, byte[] reply)
        {
            lock (writing) WriteFrame(output, number, reply);
        }
        var code = 0;
        while (ReadFrame(input) is { } frame)
        {
            var number = 0;
            (RuleSetDefinition Definition, string AssemblyName) request;
            try
            {
                (number, var payload) = Split(frame);
                request = Decode(payload);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
            {
                Answer(number, Failure("malformed request: " + ex.Message));
                code = 2;
                break;
            }
            underWay.RemoveAll(t => t.IsCompleted);
            underWay.Add(Task.Run(() =>
            {
                byte[] reply;
                try
                {
                    reply = Compile(request.Definition, request.AssemblyName);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    reply = Failure(ex.GetType().Name + ": " + ex.Message);
                }
                Answer(number, reply);
            }));
        }
        Task.WaitAll([.. underWay, warmUp]);
        return code;
    }

    /// <summary>A request's definition and the name its image must have.</summary>
    private static (RuleSetDefinition, string) Decode(byte[] request)
    {
        using var r = new BinaryReader(new MemoryStream(request), Encoding.UTF8);
        if (r.ReadString() != Magic) throw new InvalidDataException("not a reform compiler request");
        var directory = r.ReadString();
        var assemblyName = r.ReadString();
        return (DefinitionCodec.Read(r, directory), assemblyName);
    }

    private static byte[] Compile(RuleSetDefinition def, string assemblyName)
    {
        byte[]? image = null;
        string? compiledAs = null;
        var errors = new List<RuleError>();
        var compiled = RuleCompiler.Compile(def, new RuleCompileOptions
        {
            CacheDirectory = null, ShippedDirectory = null, Collectible = true,
            Emit = (_, name, _, emitHere) => { compiledAs = name; return image = emitHere(); },
        }, errors);
        if (compiled is not null) RuleCompiler.Unload(compiled);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            if (errors.Count == 0 && image is null)
                return Failure("the compiler gave neither an image nor an error");
            if (errors.Count > 0)
            {
                w.Write(ErrorsReply);
                w.Write(errors.Count);
                foreach (var e in errors) { w.Write(e.File); w.Write(e.Line); w.Write(e.Column); w.Write(e.Message); }
            }
            else if (compiledAs != assemblyName || image is null)
                return Failure($"the definition compiled as {compiledAs}, not {assemblyName}: it did not travel intact");
            else
            {
                w.Write(ImageReply);
                w.Write(image.Length);
                w.Write(image);
            }
        }
        return ms.ToArray();
    }

    private static byte[] Failure(string message)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FailureReply);
            w.Write(message);
        }
        return ms.ToArray();
    }
}
