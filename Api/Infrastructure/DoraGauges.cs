using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Deploy.Engine.Api.Resources;
using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// The four keys as observable gauges of the engine's <c>Deploy.Engine</c> meter, per service and environment over the
/// last 30 days, so /metrics (Prometheus) and OTLP carry them: <c>deploy_engine_dora_deployments</c>,
/// <c>deploy_engine_dora_deployments_per_day</c>, <c>deploy_engine_dora_lead_time_median_seconds</c>,
/// <c>deploy_engine_dora_change_failure_rate_ratio</c>, <c>deploy_engine_dora_time_to_restore_median_seconds</c> and
/// <c>deploy_engine_dora_tier</c> (1, labelled with the tier). A gauge's callback cannot wait on grains, so the figures
/// are recomputed in the background every <c>Metrics:DoraRefreshSeconds</c> (60) and the callbacks read the last set.
/// The meter and its instruments are created once per process and never disposed: a second engine host in the same
/// process (tests) adds its figures to them, and disposing one host's meter would end the shared metric streams of
/// the others (OpenTelemetry merges identical instruments of equally named meters into one stream).
/// </summary>
public sealed partial class DoraGauges : BackgroundService
{
    public const string MeterName = "Deploy.Engine";
    public static readonly TimeSpan Window = TimeSpan.FromDays(30);

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<DoraGauges, byte> Live = new();

    private readonly IGrainFactory _grains;
    private readonly TimeProvider _clock;
    private readonly ILogger<DoraGauges> _logger;
    private readonly TimeSpan _refresh;
    private volatile IReadOnlyList<(KeyValuePair<string, object?>[] Tags, DoraFigures Figures)> _last = [];

    public DoraGauges(IGrainFactory grains, TimeProvider clock, IConfiguration configuration, ILogger<DoraGauges> logger)
    {
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _refresh = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("Metrics:DoraRefreshSeconds", 60)));
        Live[this] = 0;
    }

    static DoraGauges()
    {
        Gauge("deploy.engine.dora.deployments", "{deployment}", "Deployments that succeeded in the last 30 days", f => f.DeploymentFrequency.Deployments);
        Gauge("deploy.engine.dora.deployments_per_day", "{deployment}", "Deployments a day over the last 30 days", f => f.DeploymentFrequency.PerDay);
        Gauge("deploy.engine.dora.lead_time_median", "s", "Median change lead time (commit to succeeded), last 30 days", f => f.LeadTime.Duration.MedianSeconds);
        Gauge("deploy.engine.dora.change_failure_rate", "1", "Change failure rate over the last 30 days", f => f.ChangeFailureRate.Rate);
        Gauge("deploy.engine.dora.time_to_restore_median", "s", "Median time to restore (incidents and failed deployments), last 30 days", f => f.TimeToRestore.Duration.MedianSeconds);
        Meter.CreateObservableGauge("deploy.engine.dora.tier", () => Figures()
            .Where(x => x.Figures.Tier is not null)
            .Select(x => new Measurement<int>(1, [.. x.Tags, new("tier", x.Figures.Tier!.Value.ToString().ToLowerInvariant())])),
            description: "The DORA 2023 performance tier over the last 30 days (1, labelled with the tier)");
    }

    private static IEnumerable<(KeyValuePair<string, object?>[] Tags, DoraFigures Figures)> Figures() => Live.Keys.SelectMany(g => g._last);

    private static void Gauge(string name, string unit, string description, Func<DoraFigures, double?> value) =>
        Meter.CreateObservableGauge(name, () => Figures()
            .Select(x => (x.Tags, Value: value(x.Figures)))
            .Where(x => x.Value is not null)
            .Select(x => new Measurement<double>(x.Value!.Value, x.Tags)), unit, description);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_refresh, _clock);
        do
        {
            try
            {
                _last = await Compute();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Storage down, silo not up yet: keep the last figures and try again at the next tick.
                LogRefreshFailed(_logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<IReadOnlyList<(KeyValuePair<string, object?>[], DoraFigures)>> Compute()
    {
        var to = _clock.GetUtcNow();
        var catalog = await _grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List();
        var incidents = (await _grains.Ref<IDeliveryLedgerGrain>(GrainKeys.IncidentLedger).Read()).Incidents.Select(i => i.ToDomain()).ToList();
        var result = new List<(KeyValuePair<string, object?>[], DoraFigures)>();
        foreach (var entry in catalog)
        {
            var deployments = (await _grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(entry.Service)).Read()).Deployments.Select(d => d.ToDomain()).ToList();
            foreach (var environment in deployments.Select(d => d.Environment).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var scope = new DoraScope(new HashSet<string> { environment }, new HashSet<string> { entry.Service });
                var figures = DoraCalculator.Compute(deployments, incidents, scope, to - Window, to);
                result.Add(([new("service", entry.Service), new("environment", environment), new("team", entry.Team ?? string.Empty)], figures));
            }
        }

        return result;
    }

    public override void Dispose()
    {
        Live.TryRemove(this, out _);
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DORA gauges not refreshed ({Error}); the last figures stay")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}
