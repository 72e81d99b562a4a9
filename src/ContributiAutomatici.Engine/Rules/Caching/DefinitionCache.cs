using System.Text;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// The parsed and checked definitions of a rule-set folder, kept in the compiled-rules cache beside the assemblies, so that a
/// warm start neither parses the YAML nor runs its checks again. An entry is found by the manifest's text (and the engine
/// build); it names the folder's other files and their content hash, and is used only when the files read now have that
/// same hash (<see cref="RuleFileParser.ContentHash(string[], string[])"/>, the hash every answer carries), so a changed
/// table or list is parsed and checked again like a new one. Only what passed every check of
/// <see cref="RuleFileParser.Parse(string, List{RuleError})"/> is written. Entries live in the same private folder as the
/// assemblies (<see cref="RuleCache"/>: its ownership and mode checks) or in the folder shipped with the program.
/// </summary>
internal static class DefinitionCache
{
    private const string Magic = "contributi-definitions";

    /// <summary>
    /// The folder's definition: from <paramref name="cache"/> or <paramref name="shipped"/> when an entry there matches its
    /// files, else parsed (and then written to <paramref name="cache"/>). <paramref name="fromCache"/>: whether it was read.
    /// </summary>
    public static RuleSetDefinition? Load(string directory, List<RuleError> errors, RuleCache? cache, RuleCache? shipped, out bool fromCache)
    {
        fromCache = false;
        if (cache is not null || shipped is not null)
        {
            var manifest = ReadRuleFile(Path.Combine(directory, RuleFileParser.ManifestName));
            if (manifest is not null)
            {
                var entry = EntryName(manifest);
                if (cache is not null && TryRead(cache, entry, directory, manifest) is { } cached) { fromCache = true; return cached; }
                if (shipped is not null && TryRead(shipped, entry, directory, manifest) is { } fromShipped) { fromCache = true; return fromShipped; }
            }
        }
        var before = errors.Count;
        var hashed = new List<(string Name, string Text)>();
        var def = RuleFileParser.Parse(directory, errors, hashed);
        if (def is not null && errors.Count == before && cache is not null)
        {
            var manifestText = hashed.Find(f => f.Name == RuleFileParser.ManifestName).Text;
            if (manifestText is not null) cache.TryWrite(EntryName(manifestText), Entry(def, hashed));
        }
        return def;
    }

    /// <summary>
    /// Takes a folder's entry out of the user's cache (a folder that parsed but was refused after, its cites unresolved): the
    /// cache holds only folders that passed every check at load.
    /// </summary>
    internal static void Forget(string directory, RuleCache? cache)
    {
        if (cache is not null && ReadRuleFile(Path.Combine(directory, RuleFileParser.ManifestName)) is { } manifest)
            cache.Forget(EntryName(manifest));
    }

    /// <summary>A rule file's text as the parser reads it, or null when it is missing, unreadable or too large (the parser then says why).</summary>
    private static string? ReadRuleFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length <= YamlFile.MaxFileLength ? File.ReadAllText(path) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>definitions-KEY.bin, KEY from the manifest's text and the engine build.</summary>
    private static string EntryName(string manifest)
    {
        var key = Sha256.HexOf(RuleCache.EngineBuild + "\n" + manifest.ReplaceLineEndings("\n"))[..32];
        return $"definitions-{key}.bin";
    }

    private static byte[] Entry(RuleSetDefinition def, List<(string Name, string Text)> files)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            var others = files.Where(f => f.Name != RuleFileParser.ManifestName).Select(f => f.Name).Distinct().ToList();
            w.Write(others.Count);
            foreach (var name in others) w.Write(name);
            w.Write(def.ContentHash);
            DefinitionCodec.Write(w, def);
        }
        return ms.ToArray();
    }

    /// <summary>The entry's definition when the folder's files have the content hash it was written for; else null.</summary>
    private static RuleSetDefinition? TryRead(RuleCache cache, string entry, string directory, string manifest)
    {
        if (cache.TryReadBytes(entry) is not { } bytes) return null;
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            if (r.ReadString() != Magic) throw new InvalidDataException("not a definitions entry");
            var count = r.ReadInt32();
            if (count is < 0 or > 10_000) throw new InvalidDataException($"{count} files");
            var names = new string[count + 1];
            var texts = new string[count + 1];
            names[0] = RuleFileParser.ManifestName;
            texts[0] = manifest;
            for (var i = 1; i <= count; i++)
            {
                names[i] = r.ReadString();
                // A name of the folder's own files, as the parser allows them (never a path elsewhere).
                if (names[i].Length == 0 || Path.GetFileName(names[i]) != names[i] || names[i] == ".." || names[i].Contains('\\'))
                    throw new InvalidDataException($"file name '{names[i]}'");
                // A file gone or grown too large: the parser will say so.
                if (ReadRuleFile(Path.Combine(directory, names[i])) is not { } text) return null;
                texts[i] = text;
            }
            var hash = r.ReadString();
            // Another content for the same manifest: parsed and checked as new (and this entry replaced).
            if (RuleFileParser.ContentHash(names, texts) != hash) return null;
            var def = DefinitionCodec.Read(r, directory);
            if (def.ContentHash != hash) throw new InvalidDataException("content hash differs from the entry's");
            if (r.BaseStream.Position != r.BaseStream.Length) throw new InvalidDataException("bytes after the definition");
            return def;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            cache.Reject(entry, "not a readable definitions entry (" + ex.Message + ")");
            return null;
        }
    }
}
