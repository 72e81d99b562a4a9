using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// A server as it was before a method was added: only <typeparamref name="TService"/> (a service of the tests whose new
/// method answers UNIMPLEMENTED, as a server without it does) on a loopback port; the rest is UNIMPLEMENTED too.
/// </summary>
public sealed class OldServer<TService> : IAsyncDisposable where TService : class, new()
{
    private readonly WebApplication _app;

    private OldServer(WebApplication app, TService service)
    {
        _app = app;
        Service = service;
    }

    /// <summary>The one instance serving every call.</summary>
    public TService Service { get; }

    public Uri Address => new($"http://127.0.0.1:{new Uri(_app.Urls.First()).Port}");

    public static async Task<OldServer<TService>> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var service = new TService();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync();
        return new OldServer<TService>(app, service);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
