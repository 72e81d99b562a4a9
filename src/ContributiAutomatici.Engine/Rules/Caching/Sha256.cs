using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// SHA-256 (FIPS 180-4) in managed code, for the rule sets' content hashes and cache keys: identifiers, not secrets. The
/// platform's SHA256 goes through OpenSSL, whose first use in a process (loading and initializing the native library) cost
/// 15-20 ms of a 130 ms warm start; this costs nothing to start and hashes the rule files (a few hundred KB) in a few ms.
/// Checked against System.Security.Cryptography.SHA256 on every length around the block boundaries and on random inputs
/// (Sha256Tests).
/// </summary>
internal sealed class Sha256
{
    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    private readonly byte[] _block = new byte[64];
    private readonly uint[] _w = new uint[64];
    private int _filled;
    private long _length;

    /// <summary>The lowercase hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string HexOf(string text)
    {
        var sha = new Sha256();
        sha.Append(Encoding.UTF8.GetBytes(text));
        return sha.FinishHex();
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        if (_filled > 0)
        {
            var take = Math.Min(64 - _filled, data.Length);
            data[..take].CopyTo(_block.AsSpan(_filled));
            _filled += take;
            data = data[take..];
            if (_filled < 64) return;
            Compress(_block);
            _filled = 0;
        }
        while (data.Length >= 64)
        {
            Compress(data[..64]);
            data = data[64..];
        }
        data.CopyTo(_block);
        _filled = data.Length;
    }

    /// <summary>The digest as lowercase hex; the instance is spent.</summary>
    public string FinishHex()
    {
        Span<byte> digest = stackalloc byte[32];
        Finish(digest);
        return Hex(digest);
    }

    /// <summary>
    /// HMAC-SHA256 (RFC 2104) of <paramref name="message"/> under <paramref name="key"/>: what authenticates the files of a
    /// compiled-rules cache (Compiling.RuleCache), on this managed SHA-256 for the same reason (no OpenSSL at start).
    /// Checked against System.Security.Cryptography.HMACSHA256 (CacheIntegrityTests).
    /// </summary>
    public static byte[] Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        if (key.Length > 64)
        {
            var hashed = new Sha256();
            hashed.Append(key);
            hashed.Finish(block[..32]);
        }
        else key.CopyTo(block);
        Span<byte> pad = stackalloc byte[64];
        for (var i = 0; i < 64; i++) pad[i] = (byte)(block[i] ^ 0x36);
        var inner = new Sha256();
        inner.Append(pad);
        inner.Append(message);
        Span<byte> innerDigest = stackalloc byte[32];
        inner.Finish(innerDigest);
        for (var i = 0; i < 64; i++) pad[i] = (byte)(block[i] ^ 0x5c);
        var outer = new Sha256();
        outer.Append(pad);
        outer.Append(innerDigest);
        var mac = new byte[32];
        outer.Finish(mac);
        return mac;
    }

    /// <summary>The 32-byte digest into <paramref name="digest"/>; the instance is spent.</summary>
    private void Finish(Span<byte> digest)
    {
        var bits = _length * 8;
        Span<byte> pad = stackalloc byte[72];
        pad.Clear();
        pad[0] = 0x80;
        var padLength = (_filled < 56 ? 56 : 120) - _filled;
        BinaryPrimitives.WriteInt64BigEndian(pad[padLength..], bits);
        Append(pad[..(padLength + 8)]);
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest[(i * 4)..], _h[i]);
    }

    /// <summary>
    /// Lowercase hex, by table: Convert.ToHexStringLower's vectorized path (like Guid's formatting) is not in the
    /// ReadyToRun image and is JIT-compiled on first use.
    /// </summary>
    internal static string Hex(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length * 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
            chars[2 * i + 1] = "0123456789abcdef"[bytes[i] & 0xF];
        }
        return new string(chars);
    }

    private void Compress(ReadOnlySpan<byte> block)
    {
        var w = _w;
        for (var t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        for (var t = 16; t < 64; t++)
        {
            uint x = w[t - 15], y = w[t - 2];
            var s0 = BitOperations.RotateRight(x, 7) ^ BitOperations.RotateRight(x, 18) ^ (x >> 3);
            var s1 = BitOperations.RotateRight(y, 17) ^ BitOperations.RotateRight(y, 19) ^ (y >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint a = _h[0], b = _h[1], c = _h[2], d = _h[3], e = _h[4], f = _h[5], g = _h[6], h = _h[7];
        for (var t = 0; t < 64; t++)
        {
            var t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25)) +
                     ((e & f) ^ (~e & g)) + K[t] + w[t];
            var t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22)) +
                     ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        _h[0] += a; _h[1] += b; _h[2] += c; _h[3] += d; _h[4] += e; _h[5] += f; _h[6] += g; _h[7] += h;
    }
}
