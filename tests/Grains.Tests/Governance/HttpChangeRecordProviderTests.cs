using System.Collections.Concurrent;
using Deploy.Engine.Grains.Governance;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Grains.Tests.Governance;

/// <summary>The ITSM adapter against a real Kestrel ITSM stub on loopback; no Orleans.</summary>
public sealed class HttpChangeRecordProviderTests : IAsyncLifetime
{
    private const string Token = "itsm-s3cr3t";

    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<string?> _authorizations = [];
    private WebApplication _app = null!;
    private Uri _base = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _app = LoopbackApp.Create();
        _app.MapGet("/api/change-records/{id}", async (string id, HttpContext http) =>
        {
            var n = _calls.AddOrUpdate(id, 1, (_, c) => c + 1);
            _authorizations.Add(http.Request.Headers.Authorization);
            switch (id)
            {
                case "CHG-1": return Results.Json(new { state = "approved", service = "shop", release = "rel-1", start = "2026-12-01T09:00:00Z", end = "2026-12-01T17:00:00Z", approvedBy = "cab-chair" });
                case "CHG-2" when n < 3: return Results.StatusCode(503);
                case "CHG-2": return Results.Json(new { state = "pending" });
                case "CHG-3": return Results.Json(new { state = "REJECTED" });
                case "CHG-slow": await Task.Delay(TimeSpan.FromSeconds(10), http.RequestAborted); return Results.Json(new { state = "approved" });
                case "CHG-odd": return Results.Json(new { state = "maybe" });
                case "CHG-403": return Results.StatusCode(403);
                default: return Results.NotFound();
            }
        });
        _base = await LoopbackApp.StartAsync(_app);

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Governance:ChangeRecords:Itsm:itsm:Url"] = new Uri(_base, "api").ToString(),
            ["Governance:ChangeRecords:Itsm:itsm:Token"] = Token,
            ["Governance:ChangeRecords:AttemptTimeout"] = "00:00:01",
            ["Governance:ChangeRecords:TotalTimeout"] = "00:00:06",
            ["Governance:ChangeRecords:RetryBaseDelay"] = "00:00:00.010",
        }).Build();
        _services = new ServiceCollection().AddLogging().AddGovernance(configuration).BuildServiceProvider();

        // The first call JITs Kestrel, the route and the client's pipeline, and opens the connection: on a loaded
        // machine that can outlast an attempt timeout. Pay for it here, through the provider itself.
        await Get("warm-up");
        _calls.Clear();
        _authorizations.Clear();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _app.DisposeAsync();
    }

    private Task<ChangeRecordStatus> Get(string id) =>
        _services.GetRequiredService<HttpChangeRecordProvider>().Get("itsm", id, CancellationToken.None);

    [Theory]
    [InlineData("CHG-1", "approved", "change record CHG-1 is approved (ITSM 'itsm')")]
    [InlineData("CHG-3", "rejected", "change record CHG-3 is rejected (ITSM 'itsm')")]
    [InlineData("CHG-9", "unknown", "change record CHG-9 is unknown to ITSM 'itsm'")]
    [InlineData("CHG-odd", "unavailable", "change record CHG-odd could not be checked: ITSM 'itsm' answered without a known state (expected approved, pending or rejected)")]
    [InlineData("CHG-403", "unavailable", "change record CHG-403 could not be checked: ITSM 'itsm' answered 403 after 1 attempt")]
    public async Task Maps_the_answer_to_a_state_with_its_reason(string id, string state, string detail)
    {
        var status = await Get(id);
        Assert.Equal((state, detail), (status.State, status.Detail));
        Assert.All(_authorizations, a => Assert.Equal("Bearer " + Token, a));
    }

    [Fact]
    public async Task Reads_the_service_release_window_and_approver_the_itsm_gives_and_nothing_when_it_gives_none()
    {
        var bound = await Get("CHG-1");
        Assert.Equal(new Deploy.Engine.Domain.Governance.ChangeRecordFacts("CHG-1", "approved", "shop", "rel-1",
            DateTimeOffset.Parse("2026-12-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-12-01T17:00:00Z", System.Globalization.CultureInfo.InvariantCulture), "cab-chair"), bound.Facts);

        var bare = await Get("CHG-3");
        Assert.Equal(new Deploy.Engine.Domain.Governance.ChangeRecordFacts("CHG-3", "rejected", null, null, null, null, null), bare.Facts);
    }

    [Fact]
    public async Task Retries_transient_failures()
    {
        var status = await Get("CHG-2");
        Assert.Equal("pending", status.State);
        Assert.Equal("change record CHG-2 is pending, not approved (ITSM 'itsm')", status.Detail);
        Assert.Equal(3, _calls["CHG-2"]);
    }

    [Fact]
    public async Task Each_check_is_a_client_span_carrying_the_rollout_it_gates_and_a_failed_one_is_marked_so()
    {
        using var telemetry = new TelemetryRecorder();
        var rollout = "rel-span-" + Guid.NewGuid().ToString("n")[..8] + ".prod";
        using (Telemetry.EngineTelemetry.Start("rollout.reconcile", rollout: rollout, release: "rel-1", environment: "prod", service: "shop"))
        {
            Assert.Equal("approved", (await Get("CHG-1")).State);
            Assert.Equal("unavailable", (await Get("CHG-403")).State);
        }

        var spans = telemetry.Spans("change_record.get").Where(s => TelemetryRecorder.Tag(s, "deploy.rollout") == rollout).ToList();
        Assert.Equal(2, spans.Count);
        Assert.All(spans, s => Assert.Equal((System.Diagnostics.ActivityKind.Client, "rel-1", "prod", "shop", "itsm"),
            (s.Kind, TelemetryRecorder.Tag(s, "deploy.release"), TelemetryRecorder.Tag(s, "deploy.environment"), TelemetryRecorder.Tag(s, "deploy.service"), TelemetryRecorder.Tag(s, "deploy.change_record.itsm"))));
        var byId = spans.ToDictionary(s => TelemetryRecorder.Tag(s, "deploy.change_record.id")!);
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Unset, byId["CHG-1"].Status);
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, byId["CHG-403"].Status);
        Assert.Contains("answered 403", byId["CHG-403"].StatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_itsm_times_out_and_is_never_an_approval()
    {
        var status = await Get("CHG-slow");
        Assert.Equal("unavailable", status.State);
        Assert.Contains("timed out after 3 attempts", status.Detail);
        Assert.Equal(3, _calls["CHG-slow"]);
    }

    [Fact]
    public async Task The_provider_per_environment_comes_from_configuration()
    {
        var options = new ChangeRecordOptions { Provider = "builtin", Environments = { ["prod"] = "itsm" } };
        Assert.Equal("itsm", options.ProviderFor("PROD"));
        Assert.Equal("builtin", options.ProviderFor("staging"));
        Assert.True(new ChangeRecordOptionsValidator().Validate(null, new ChangeRecordOptions { Provider = "nope" }).Failed);
        await Task.CompletedTask;
    }
}
