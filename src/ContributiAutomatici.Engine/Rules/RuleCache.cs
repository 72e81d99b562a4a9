namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// The folder of compiled rule assemblies, trusted only as far as it is private: created owner-only (0700), refused
/// when others can write it (or a folder above it, unless sticky like /tmp) or when it belongs to another user, its
/// files written owner-only (0600). Every assembly read back is checked by <see cref="RuleAssemblyVerifier"/> before
/// it is loaded; one that fails is deleted, reported and compiled again. A shipped cache (<see cref="OpenShipped"/>) is
/// the program's own read-only folder of images compiled at publish: used when no one but its owner can write it, never
/// written, and an image that fails is reported and compiled, not deleted.
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

    private RuleCache(string directory, Action<string> warn, bool shipped = false)
    {
        Directory = directory;
        _warn = warn;
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
            {
                System.IO.Directory.CreateDirectory(full); // per-user profile folders; ACLs are the profile's
                return new RuleCache(full, warn);
            }
            if (!System.IO.Directory.Exists(full)) System.IO.Directory.CreateDirectory(full, OwnerOnlyFolder);
            if (Untrusted(full) is { } why)
            {
                warn($"compiled-rules cache {full} not used: {why}; compiling without it");
                return null;
            }
            return new RuleCache(full, warn);
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
            return new RuleCache(full, warn, shipped: true);
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
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _warn($"compiled rules {path} not read: {ex.Message}; compiling");
            return null;
        }
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
        try { File.Delete(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Writes an image owner-only, atomically (a temp file moved in place); a failure only costs the next start a compilation.</summary>
    public void TryWrite(string fileName, byte[] image)
    {
        var path = PathOf(fileName);
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
            using (var fs = new FileStream(tmp, options)) fs.Write(image);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
