using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Deploy.Engine.Grains.Metrics;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The Prometheus provider against a real Prometheus that scrapes metrics this test serves on loopback: what the
/// canary analysis would read is what the hosts exposed.
/// </summary>
public sealed class PrometheusProviderTests : IAsyncLifetime
{
    private const string Exposition = """
        # HELP latency_ms Request latency.
        # TYPE latency_ms gauge
        latency_ms{version="1.0.0"} 120
        latency_ms{version="2.0.0"} 95.5
        # HELP requests_total Requests served.
        # TYPE requests_total counter
        requests_total{version="1.0.0"} 1000
        requests_total{version="2.0.0"} 10

        """;

    private static readonly TimeSpan DataTimeout = TimeSpan.FromSeconds(60);

    private WebApplication? _served;
    private PrometheusProcess? _prometheus;
    private ServiceProvider? _services;

    public async Task InitializeAsync()
    {
        if (PrometheusProcess.Executable is null)
        {
            return; // The test reports itself skipped.
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _served = builder.Build();
        _served.MapGet("/metrics", () => Results.Text(Exposition, "text/plain; version=0.0.4"));
        await _served.StartAsync();
        var target = new Uri(_served.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Authority;

        _prometheus = await PrometheusProcess.StartAsync([target]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Metrics:Prometheus:local:Url"] = _prometheus.BaseAddress.ToString(),
        }).Build();
        _services = new ServiceCollection().AddLogging().AddMetricProviders(configuration).BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        if (_served is not null)
        {
            await _served.StopAsync();
            await _served.DisposeAsync();
        }
    }

    [PrometheusFact]
    public async Task Reads_back_each_versions_samples_as_served()
    {
        await WaitForScrapes(3);
        var provider = _services!.GetRequiredService<IMetricProvider>();
        var end = DateTimeOffset.UtcNow;

        var baseline = await provider.QueryRange(Query("1.0.0", end), CancellationToken.None);
        var canary = await provider.QueryRange(Query("2.0.0", end), CancellationToken.None);

        Assert.True(baseline.Ok, baseline.Error);
        Assert.True(canary.Ok, canary.Error);
        Assert.True(baseline.Values.Count >= 3, $"baseline: {baseline.Values.Count} samples");
        Assert.True(canary.Values.Count >= 3, $"canary: {canary.Values.Count} samples");
        Assert.All(baseline.Values, v => Assert.Equal(120, v));
        Assert.All(canary.Values, v => Assert.Equal(95.5, v));
    }

    [PrometheusFact]
    public async Task Reports_a_query_prometheus_refuses()
    {
        var provider = _services!.GetRequiredService<IMetricProvider>();
        var end = DateTimeOffset.UtcNow;

        var result = await provider.QueryRange(Query("2.0.0", end) with { Query = "rate(latency_ms{version=\"{{version}}\"})" }, CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith("Prometheus 'local' answered 400: bad_data:", result.Error);
    }

    private static MetricQuery Query(string version, DateTimeOffset end) => new(
        "local", "latency_ms{version=\"{{version}}\"}", end.AddMinutes(-2), end, TimeSpan.FromSeconds(1),
        new Dictionary<string, string> { ["version"] = version });

    /// <summary>Waits until Prometheus holds at least <paramref name="scrapes"/> samples of the canary's gauge.</summary>
    private async Task WaitForScrapes(int scrapes)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var query = Uri.EscapeDataString("count_over_time(latency_ms{version=\"2.0.0\"}[5m])");
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < DataTimeout)
        {
            last = await http.GetStringAsync(new Uri(_prometheus!.BaseAddress, $"api/v1/query?query={query}"));
            using var answer = JsonDocument.Parse(last);
            var result = answer.RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() == 1
                && double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= scrapes)
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"Prometheus had fewer than {scrapes} scrapes after {DataTimeout.TotalSeconds:0} s; last answer: {last}{Environment.NewLine}{_prometheus!.RecentOutput}");
    }
}
