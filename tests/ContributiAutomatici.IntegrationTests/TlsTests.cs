using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ContributiAutomatici.Client;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>Contributi:Tls:CertificatePath / CertificatePassword switch the endpoint to HTTP/2 over TLS.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "contributi-tls-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task With_a_certificate_the_server_speaks_TLS()
    {
        Directory.CreateDirectory(_folder);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(_folder, "server.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));

        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog, settings: new Dictionary<string, string?>
        {
            ["Contributi:Tls:CertificatePath"] = pfx,
            ["Contributi:Tls:CertificatePassword"] = "secret",
            ["Contributi:HttpPort"] = "", // the default: with TLS, no cleartext port
        });
        Assert.Equal("https", server.Address.Scheme);

        var thumbprint = certificate.Thumbprint;
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint;
        using var client = new ContributiClient(new ContributiClientOptions { Address = server.Address, HttpHandler = handler, RetryCount = 0 });

        var response = await client.ScoreWorkAsync(Examples.FirstFeature());

        // One port for both (ALPN): HTTP/1.1 asked over TLS gets the probes and REST on the gRPC port; no cleartext port.
        Assert.Null(server.HttpPort);
        var tls11 = new SocketsHttpHandler();
        tls11.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint;
        using (var http11 = new HttpClient(tls11) { DefaultRequestVersion = System.Net.HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            using var ready = await http11.GetAsync(new Uri(server.Address, "/readyz"));
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal(System.Net.HttpVersion.Version11, ready.Version);
            Assert.Contains("\"dm-2021\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), response, "over TLS");

        // TLS over the write-behind connection the default handler uses (a handler of one's own can plug it in).
        var writeBehind = new SocketsHttpHandler { ConnectCallback = ContributiClient.ConnectWithWriteBehindAsync };
        writeBehind.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint;
        using var behind = new ContributiClient(new ContributiClientOptions { Address = server.Address, HttpHandler = writeBehind, RetryCount = 0 });
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), await behind.ScoreWorkAsync(Examples.FirstFeature()), "over TLS, write-behind");
        var requests = Enumerable.Range(0, 300).Select(i => new ContributiAutomatici.Contracts.V1.ScoreWorksRequest { RequestId = i.ToString(), Request = Examples.FirstFeature() });
        var answered = 0;
        await foreach (var item in behind.ScoreWorksAsync(requests))
        {
            Assert.Equal(answered.ToString(), item.RequestId);
            Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), item.Response, $"over TLS, write-behind, stream item {answered}");
            answered++;
        }
        Assert.Equal(300, answered);
    }
}
