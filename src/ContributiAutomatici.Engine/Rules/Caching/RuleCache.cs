using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// The folder of compiled rule assemblies, trusted only as far as it is private: created owner-only (0700), refused
/// when others can write it (or a folder above it, unless sticky like /tmp) or when it belongs to another user, its
/// files written owner-only (0600). Every assembly read back is checked by <see cref="RuleAssemblyVerifier"/> before
/// it is loaded; one that fails is deleted, reported and compiled again. A shipped cache (<see cref="OpenShipped"/>) is
/// the program's own read-only folder of images compiled at publish: used when no one but its owner can write it, never
/// written, and an image that fails is reported and compiled, not deleted.
/// <para>
/// Every file of a cache (the compiled images and the parsed definitions entries alike) is authenticated: beside
/// <c>NAME</c> its writer keeps <c>NAME.mac</c>, the HMAC-SHA256 of the name and the bytes under the cache's key
/// (<c>cache.key</c> in the folder, 0600, made at first use; or the file <c>$CONTRIBUTI_RULES_CACHE_KEY_FILE</c> names,
/// e.g. a Kubernetes Secret, for a cache shared by replicas). A file whose code is missing or does not match (edited,
/// corrupted, copied from another cache, renamed to another key) is refused before it is parsed or loaded: deleted
/// (shipped: only reported), logged with the reason, and rebuilt from the rule files. The shipped folder carries the key
/// it was written with: its codes stop an edit of one file, corruption and files mixed from another publish, not someone
/// who can rewrite the program's folder (who could replace the program itself). See the README's threat model.
/// </para>
/// </summary>
internal sealed class RuleCache
{
    /// <summary>Largest cached image read back (dm-2021 is about 50 KB).</summary>
    private const long MaxImageBytes = 16 * 1024 * 1024;

    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OthersWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    private readonly Action<string> _warn;

    /// <summary>
    /// The engine build (its assembly's module version id, in hex): part of every key of the cache, so that nothing one build
    /// wrote is read by another (its compiled rules reference that build's scope; its definitions are in that build's format).
    /// </summary>
    public static string EngineBuild { get; } = Sha256.Hex(typeof(RuleCache).Assembly.ManifestModule.ModuleVersionId.ToByteArray());

    private readonly bool _shipped;
    private readonly byte[] _key;

    /// <summary>The name of the key file in a cache folder.</summary>
    public const string KeyFileName = "cache.key";

    /// <summary>The environment variable naming a key file kept apart from the cache (a secret mounted into each replica).</summary>
    public const string KeyFileVariable = "CONTRIBUTI_RULES_CACHE_KEY_FILE";

    /// <summary>What follows a file's name for its authentication code.</summary>
    public const string MacSuffix = ".mac";

    private RuleCache(string directory, Action<string> warn, byte[] key, bool shipped = false)
    {
        Directory = directory;
        _warn = warn;
        _key = key;
        _shipped = shipped;
    }

    public string Directory { get; }

    /// <summary>
    /// The default cache folder: $CONTRIBUTI_RULES_CACHE, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache
    /// on Unix, LocalApplicationData on Windows) + contributi-automatici/rules-cache; null (no cache) without a home.
    /// Never a shared, predictable path in the system temp folder.
    /// </summary>
    public static string? DefaultDirectory() =>
        DefaultDirectory(Environment.GetEnvironmentVariable, OperatingSystem.IsWindows()
            ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The default for these environment variables and home (Unix) or LocalApplicationData (Windows) folder.</summary>
    internal static string? DefaultDirectory(Func<string, string?> env, string? home)
    {
        if (env("CONTRIBUTI_RULES_CACHE") is { Length: > 0 } configured) return configured;
        string? root;
        if (OperatingSystem.IsWindows()) root = home;
        else if (env("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)) root = xdg;
        else root = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache");
        return string.IsNullOrEmpty(root) ? null : Path.Combine(root, "contributi-automatici", "rules-cache");
    }

    /// <summary>The cache at <paramref name="directory"/>, created private if missing; null (and a warning) when it cannot be trusted.</summary>
    public static RuleCache? Open(string directory, Action<string> warn)
    {
        var full = Path.GetFullPath(directory);
        try
        {
            if (OperatingSystem.IsWindows())
                System.IO.Directory.CreateDirectory(full); // per-user profile folders; ACLs are the profile's
            else
            {
                if (!System.IO.Directory.Exists(full)) System.IO.Directory.CreateDirectory(full, OwnerOnlyFolder);
                if (Untrusted(full) is { } why)
                {
                    warn($"compiled-rules cache {full} not used: {why}; compiling without it");
                    return null;
                }
            }
            var keyFile = Environment.GetEnvironmentVariable(KeyFileVariable) is { Length: > 0 } configured ? configured : Path.Combine(full, KeyFileName);
            if (Key(keyFile, create: keyFile == Path.Combine(full, KeyFileName), mustOwn: true, out var key) is { } keyProblem)
            {
                warn($"compiled-rules cache {full} not used: its key {keyFile} {keyProblem}; compiling without it");
                return null;
            }
            return new RuleCache(full, warn, key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warn($"compiled-rules cache {full} not used: {ex.Message}; compiling without it");
            return null;
        }
    }

    /// <summary>
    /// The read-only folder of images shipped with the program (compiled when it was published), or null: missing (a
    /// build without it), or writable by others than its owner, or below a folder they can write (with a warning). Unlike
    /// the user's cache it may belong to another user (root, who installed the program), as the program's files do.
    /// </summary>
    public static RuleCache? OpenShipped(string directory, Action<string> warn)
    {
        var full = Path.GetFullPath(directory);
        try
        {
            if (!System.IO.Directory.Exists(full)) return null;
            if (!OperatingSystem.IsWindows() && Untrusted(full, mustOwn: false) is { } why)
            {
                warn($"shipped compiled rules {full} not used: {why}; compiling");
                return null;
            }
            var keyFile = Path.Combine(full, KeyFileName);
            if (Key(keyFile, create: false, mustOwn: false, out var key) is { } keyProblem)
            {
                warn($"shipped compiled rules {full} not used: its key {keyFile} {keyProblem}; compiling");
                return null;
            }
            return new RuleCache(full, warn, key, shipped: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warn($"shipped compiled rules {full} not used: {ex.Message}; compiling");
            return null;
        }
    }

    /// <summary>Why a folder may not hold trusted code, or null: others can write it or a folder above it, or it is not ours.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string? Untrusted(string folder, bool mustOwn = true)
    {
        var mode = File.GetUnixFileMode(folder);
        if ((mode & OthersWrite) != 0) return $"others can write it (mode {Octal(mode)}); it must be private to the user (chmod 700)";
        if (mustOwn && !Owned(folder, mode)) return "it belongs to another user";
        for (var up = Path.GetDirectoryName(folder); !string.IsNullOrEmpty(up); up = Path.GetDirectoryName(up))
        {
            var m = File.GetUnixFileMode(up);
            if ((m & OthersWrite) != 0 && (m & UnixFileMode.StickyBit) == 0)
                return $"others can write {up} above it (mode {Octal(m)}), so they could replace it";
        }
        return null;
    }

    /// <summary>Only the owner (or root) may change a mode: setting the mode it already has tells whether we own it.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static bool Owned(string path, UnixFileMode mode)
    {
        try
        {
            File.SetUnixFileMode(path, mode);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads the key of a cache (64 hex digits: 32 random bytes), creating it owner-only when <paramref name="create"/> and
    /// it is missing; null when it is usable, else why not (others can write it, it is not ours, it is not a key).
    /// </summary>
    private static string? Key(string path, bool create, bool mustOwn, out byte[] key)
    {
        key = [];
        if (!File.Exists(path))
        {
            if (!create) return "is missing";
            var fresh = Sha256.Hex(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
            using (var fs = new FileStream(tmp, options)) fs.Write(System.Text.Encoding.ASCII.GetBytes(fresh));
            try { File.Move(tmp, path, overwrite: false); } // another process made it first: theirs is the key
            catch (IOException) { File.Delete(tmp); }
        }
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & OthersWrite) != 0) return $"can be written by others (mode {Octal(mode)})";
            if (mustOwn && !Owned(path, mode)) return "belongs to another user";
        }
        var text = File.ReadAllText(path).Trim();
        if (text.Length < 32 || text.Length > 1024) return "is not a key (32 to 1024 characters; made at first use: 64 hex digits)";
        key = System.Text.Encoding.UTF8.GetBytes(text);
        return null;
    }

    /// <summary>The authentication code of a file of this cache: HMAC-SHA256 of its name, a zero byte and its bytes.</summary>
    private string Mac(string fileName, ReadOnlySpan<byte> bytes)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(fileName);
        var message = new byte[name.Length + 1 + bytes.Length];
        name.CopyTo(message, 0);
        bytes.CopyTo(message.AsSpan(name.Length + 1));
        return Sha256.Hex(Sha256.Hmac(_key, message));
    }

    /// <summary>Whether <paramref name="bytes"/> are what this cache's writer wrote as <paramref name="fileName"/>; else why not.</summary>
    private string? Unauthentic(string fileName, ReadOnlySpan<byte> bytes)
    {
        var macPath = PathOf(fileName) + MacSuffix;
        if (!File.Exists(macPath)) return "it has no authentication code (NAME.mac): not written by this cache's writer";
        var expected = System.Text.Encoding.ASCII.GetBytes(Mac(fileName, bytes));
        var found = File.ReadAllBytes(macPath);
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, found) ? null
            : "its authentication code does not match its bytes: edited, corrupted, or written under another key";
    }

    /// <summary>Writes the authentication code of a file already in the folder (what <see cref="TryWrite"/> does after writing it).</summary>
    internal void Seal(string fileName) => WriteAtomically(PathOf(fileName) + MacSuffix, System.Text.Encoding.ASCII.GetBytes(Mac(fileName, File.ReadAllBytes(PathOf(fileName)))));

    private static string Octal(UnixFileMode m) => Convert.ToString((int)m & 0xFFF, 8);

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>
    /// The cached image of <paramref name="fileName"/> if it is there, private, and passes the verification as
    /// <paramref name="assemblyName"/>; otherwise null, and a file that failed is deleted with a warning.
    /// </summary>
    public byte[]? TryRead(string fileName, string assemblyName)
    {
        if (TryReadBytes(fileName) is not { } image) return null;
        var problems = RuleAssemblyVerifier.Check(image, assemblyName);
        return problems.Count == 0 ? image : Discard(PathOf(fileName), "it does not pass the rule language check: " + string.Join("; ", problems));
    }

    /// <summary>The bytes of <paramref name="fileName"/> if it is there and private (as <see cref="TryRead"/>, without the assembly check); otherwise null.</summary>
    public byte[]? TryReadBytes(string fileName)
    {
        var path = PathOf(fileName);
        try
        {
            if (!File.Exists(path)) return null;
            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & OthersWrite) != 0 || (!_shipped && !Owned(path, mode)))
                    return Discard(path, $"others can write it or it belongs to another user (mode {Octal(mode)})");
            }
            if (new FileInfo(path).Length > MaxImageBytes) return Discard(path, "larger than any compiled rule set");
            var bytes = File.ReadAllBytes(path);
            return Unauthentic(fileName, bytes) is { } why ? Discard(path, why) : bytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _warn($"compiled rules {path} not read: {ex.Message}; compiling");
            return null;
        }
    }

    /// <summary>Deletes a file of the user's cache, silently (never a shipped one).</summary>
    public void Forget(string fileName)
    {
        if (_shipped) return;
        try
        {
            File.Delete(PathOf(fileName));
            File.Delete(PathOf(fileName) + MacSuffix);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Deletes a cached file found unusable (reporting why); a shipped one is only reported.</summary>
    public void Reject(string fileName, string why) => Discard(PathOf(fileName), why);

    private byte[]? Discard(string path, string why)
    {
        if (_shipped)
        {
            _warn($"shipped compiled rules {path} not used: {why}; compiling");
            return null;
        }
        _warn($"compiled rules {path} discarded: {why}; compiling again");
        try
        {
            File.Delete(path);
            File.Delete(path + MacSuffix);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>
    /// Writes an image owner-only, atomically (a temp file moved in place), then its authentication code; a failure only
    /// costs the next start a compilation.
    /// </summary>
    public void TryWrite(string fileName, byte[] image)
    {
        if (WriteAtomically(PathOf(fileName), image))
            WriteAtomically(PathOf(fileName) + MacSuffix, System.Text.Encoding.ASCII.GetBytes(Mac(fileName, image)));
    }

    private static bool WriteAtomically(string path, byte[] bytes)
    {
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
            using (var fs = new FileStream(tmp, options)) fs.Write(bytes);
            File.Move(tmp, path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return false;
        }
    }
}
