using System.Security.Cryptography;
using System.Text;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Tests;

/// <summary>The engine's managed SHA-256 (content hashes and cache keys) gives the platform's digests.</summary>
public class Sha256Tests
{
    [Fact]
    public void The_digests_of_the_standard_vectors()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Sha256.HexOf(""));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Sha256.HexOf("abc"));
        Assert.Equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            Sha256.HexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
    }

    [Fact]
    public void Every_length_around_the_block_boundaries_and_random_inputs_in_random_pieces_hash_as_the_platform_does()
    {
        var random = new Random(2026);
        var lengths = Enumerable.Range(0, 200).Concat([255, 256, 257, 1000, 4095, 4096, 4097, 100_000]).Concat(Enumerable.Range(0, 40).Select(_ => random.Next(300_000)));
        foreach (var length in lengths)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = Convert.ToHexStringLower(SHA256.HashData(data));

            var whole = new Sha256();
            whole.Append(data);
            Assert.Equal(expected, whole.FinishHex());

            // Appended in pieces of random sizes, as the content hash appends each file's name, text and separator.
            var pieces = new Sha256();
            for (var at = 0; at < length;)
            {
                var n = Math.Min(length - at, random.Next(0, 130));
                pieces.Append(data.AsSpan(at, n));
                at += n;
            }
            Assert.Equal(expected, pieces.FinishHex());
        }
    }

    [Fact]
    public void The_content_hash_of_a_rule_folder_is_the_platforms_sha256_over_its_files()
    {
        var names = new[] { "tabella-1.yaml", "ruleset.yaml" };
        var texts = new[] { "table: T1\r\nrows: []\r\n", "id: x\n" };
        using var platform = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, text) in new[] { ("ruleset.yaml", "id: x\n"), ("tabella-1.yaml", "table: T1\nrows: []\n") })
        {
            platform.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            platform.AppendData(Encoding.UTF8.GetBytes(text));
            platform.AppendData([0]);
        }
        Assert.Equal(Convert.ToHexStringLower(platform.GetHashAndReset()), RuleFileParser.ContentHash(names, texts));
    }
}
