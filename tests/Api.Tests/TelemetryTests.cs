using System.Diagnostics;
using System.Net;
using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using static Deploy.Engine.Api.Tests.Infrastructure.EngineFactory;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// The engine with tracing on and in-memory exporters: a rollout made through the API is one trace from the request into
/// the grains, spans carry the release, rollout, environment and service, deployment markers are span events, and the
/// engine meter reports rollouts by status, host transitions, decision latency, time-to-safe and queue depth (also on /metrics).
/// </summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];
    private EngineFactory _root = null!;
    private WebApplicationFactory<Program> _engine = null!;

    public Task InitializeAsync()
    {
        _root = new EngineFactory();
        _engine = _root.WithWebHostBuilder(b =>
        {
            b.UseSetting("Telemetry:Tracing", "true");
            b.ConfigureServices(s =>
            {
                s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));
                s.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(_metrics));
            });
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _root.DisposeAsync();
    }

    [Fact]
    public async Task A_rollout_and_a_rollback_are_traced_from_the_request_with_markers_and_counted_on_the_engine_meter()
    {
        var client = _engine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var env = TestHttp.Unique("otel");
        await client.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
        await client.PostJson($"/v1/environments/{env}/simulated-hosts", new
        {
            count = 4, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0", failureProbability = new Dictionary<string, double> { ["3.0.0"] = 1.0 },
        }).Expect(HttpStatusCode.Created);

        var good = await Rollout(client, env, "2.0.0");
        await client.WaitFor($"/v1/rollouts/{good}", r => (string?)r["status"] == "Succeeded");
        var bad = await Rollout(client, env, "3.0.0");
        await client.WaitFor($"/v1/rollouts/{bad}", r => (string?)r["status"] == "RolledBack");

        List<Activity> spans;
        lock (_spans) spans = _spans.ToList();

        // The POST /v1/rollouts request, the grain calls it made, and the engine's spans are one trace, tagged with the rollout.
        var request = spans.First(s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /v1/rollouts", StringComparison.Ordinal)
            && spans.Any(c => c.TraceId == s.TraceId && Tag(c, "deploy.rollout") == good));
        var trace = spans.Where(s => s.TraceId == request.TraceId).ToList();
        Assert.Contains(trace, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        Assert.Contains(trace, s => Tag(s, "deploy.environment") == env && Tag(s, "deploy.service") == "shop" && Tag(s, "deploy.release") is { Length: > 0 });

        // Deployment markers, as span events carrying the rollout.
        var markers = spans.SelectMany(s => s.Events).Where(e => e.Name.StartsWith("deploy.rollout.", StringComparison.Ordinal)).ToList();
        string? Of(ActivityEvent e) => e.Tags.FirstOrDefault(t => t.Key == "deploy.rollout").Value as string;
        Assert.Contains(markers, e => e.Name == "deploy.rollout.started" && Of(e) == good);
        Assert.Contains(markers, e => e.Name == "deploy.rollout.step" && Of(e) == good);
        Assert.Contains(markers, e => e.Name == "deploy.rollout.finished" && Of(e) == good);
        Assert.Contains(markers, e => e.Name == "deploy.rollout.rollback_decided" && Of(e) == bad);
        Assert.Contains(markers, e => e.Name == "deploy.rollout.rolled_back" && Of(e) == bad);
        Assert.Contains(spans, s => s.DisplayName == "rollout.reconcile" && Tag(s, "deploy.rollout") == bad);

        // The engine meter.
        // (ForceFlush answers false because the Prometheus reader only exports on a scrape; the in-memory reader has run.)
        _engine.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        List<MetricSnapshot> metrics;
        lock (_metrics) metrics = _metrics.ToList();
        Assert.Equal(1, Sum(metrics, "deploy_engine.rollouts", env, ("status", "Succeeded")));
        Assert.Equal(1, Sum(metrics, "deploy_engine.rollouts", env, ("status", "RolledBack")));
        Assert.Equal(2, Sum(metrics, "deploy_engine.rollouts", env, ("status", "Started")));
        Assert.Equal(4, Sum(metrics, "deploy_engine.host.transitions", env, ("to", "updated")));
        Assert.True(Sum(metrics, "deploy_engine.host.transitions", env, ("to", "failed")) >= 1);
        Assert.True(Count(metrics, "deploy_engine.decision.duration", env) > 0);
        Assert.Equal(1, Count(metrics, "deploy_engine.rollback.time_to_safe", env));
        Assert.Contains(metrics, m => m.Name == "deploy_engine.queue.depth");

        var scrape = await _engine.CreateClient().GetStringAsync("/metrics");
        Assert.Contains("deploy_engine_rollouts_total{", scrape, StringComparison.Ordinal);
        Assert.Contains($"deploy_environment=\"{env}\"", scrape, StringComparison.Ordinal);
        Assert.Contains("deploy_engine_rollback_time_to_safe_seconds_bucket", scrape, StringComparison.Ordinal);
    }

    private static async Task<string> Rollout(HttpClient client, string env, string version)
    {
        var release = (string)(await client.PostJson("/v1/releases", new { service = "shop", version, artifact = TestHttp.Digest(version) }).Expect(HttpStatusCode.Created))["id"]!;
        return (string)(await client.PostJson("/v1/rollouts", new
        {
            releaseId = release, environment = env, strategy = new { maxSurge = "0", maxUnavailable = "1", maxFailures = "0" },
        }).Expect(HttpStatusCode.Created))["id"]!;
    }

    private static string? Tag(Activity span, string key) => span.GetTagItem(key) as string;

    private static IEnumerable<MetricPoint> Points(List<MetricSnapshot> metrics, string name, string env, (string Key, string Value)? tag = null)
    {
        // Cumulative temporality: the last snapshot of a metric holds its totals.
        var last = metrics.LastOrDefault(m => m.Name == name);
        if (last is null) yield break;
        foreach (var point in last.MetricPoints)
        {
            var tags = new Dictionary<string, object?>();
            foreach (var t in point.Tags) tags[t.Key] = t.Value;
            if (!Equals(tags.GetValueOrDefault("deploy.environment"), env)) continue;
            if (tag is { } want && !Equals(tags.GetValueOrDefault(want.Key), want.Value)) continue;
            yield return point;
        }
    }

    private static long Sum(List<MetricSnapshot> metrics, string name, string env, (string, string) tag) =>
        Points(metrics, name, env, tag).Sum(p => p.GetSumLong());

    private static long Count(List<MetricSnapshot> metrics, string name, string env) =>
        Points(metrics, name, env).Sum(p => p.GetHistogramCount());
}
