using System.Globalization;
using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Dora;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>One UTC day and the deployments that succeeded on it.</summary>
public sealed record DailyDeploymentsResponse(string Day, int Deployments);

public sealed record DeploymentFrequencyResponse(int Deployments, double PerDay, int DaysWithDeployment, string FourKeys, IReadOnlyList<DailyDeploymentsResponse> Daily, string? Tier);

public sealed record LeadTimeResponse(int Samples, int WithoutCommitTime, double? MedianSeconds, double? P75Seconds, double? P90Seconds, double? P95Seconds, string? Tier);

public sealed record ChangeFailureRateResponse(int Deployments, int Failures, int RolledBack, int Failed, int IncidentLinked, double? Rate, string? Tier);

public sealed record TimeToRestoreResponse(int Samples, int Incidents, int FailedDeployments, int Unrestored, double? MedianSeconds, double? P75Seconds, double? P90Seconds, double? P95Seconds, string? Tier);

/// <summary>The four keys over a window (docs/dora.md): durations in seconds, rates as fractions, tiers elite/high/medium/low or null without data.</summary>
public sealed record DoraResponse(
    string Report,
    DateTimeOffset From,
    DateTimeOffset To,
    string Window,
    string? Service,
    string? Team,
    string? Environment,
    IReadOnlyList<string> Environments,
    IReadOnlyList<string> Services,
    DeploymentFrequencyResponse DeploymentFrequency,
    LeadTimeResponse LeadTime,
    ChangeFailureRateResponse ChangeFailureRate,
    TimeToRestoreResponse TimeToRestore,
    string? Tier);

/// <summary>Delivery metrics from the engine's own records: the DORA four keys.</summary>
public static class MetricsApi
{
    /// <summary>The longest window a query may ask for: the ledger's retention.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);

    public static RouteGroupBuilder MapMetricsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/metrics").WithTags("Metrics");
        group.MapGet("/dora", Dora).RequireAuthorization(Policies.Read);
        return group;
    }

    public static async Task<Results<Ok<DoraResponse>, ValidationProblem, ProblemHttpResult>> Dora(
        string? service, string? environment, string? team, string? window, ClaimsPrincipal user, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new ValidationErrors();
        if (service is not null && !Names.IsDnsLabel(service)) errors.Add("service", "must be a service name (a lower-case DNS label)");
        if (environment is not null && !Names.IsDnsLabel(environment)) errors.Add("environment", "must be an environment name (a lower-case DNS label)");
        if (team is not null && !IsTeam(team)) errors.Add("team", "must be a team name: 1-64 letters, digits, '.', '-', '_'");
        if (!TryParseWindow(window ?? "30d", out var span)) errors.Add("window", $"must be a duration in days or hours, e.g. 30d or 12h, at most {MaxWindow.TotalDays:0}d");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var bound = user.AgentEnvironments();
        if (environment is not null && bound.Count > 0 && !bound.Contains(environment))
            return Problems.Forbidden($"this API key is bound to environments {string.Join(", ", bound.Order(StringComparer.Ordinal))}; it cannot read '{environment}'");

        var to = clock.GetUtcNow();
        var records = await DeliveryRecords.Read(grains, service, team, environment, bound);
        var figures = DoraCalculator.Compute(records.Deployments, records.Incidents, records.Scope, to - span, to);
        return TypedResults.Ok(ToResponse(figures, window ?? "30d", service, team, environment, records));
    }

    internal static DoraResponse ToResponse(DoraFigures f, string window, string? service, string? team, string? environment, DeliveryRecords records) => new(
        f.Report, f.From, f.To, window, service, team, environment,
        records.Scope.Environments.Order(StringComparer.Ordinal).ToList(),
        records.Services,
        new DeploymentFrequencyResponse(f.DeploymentFrequency.Deployments, f.DeploymentFrequency.PerDay, f.DeploymentFrequency.DaysWithDeployment,
            f.DeploymentFrequency.FourKeys,
            f.DeploymentFrequency.Daily.Select(d => new DailyDeploymentsResponse(d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.Deployments)).ToList(),
            Tier(f.DeploymentFrequency.Tier)),
        new LeadTimeResponse(f.LeadTime.Samples, f.LeadTime.WithoutCommitTime, f.LeadTime.Duration.MedianSeconds, f.LeadTime.Duration.P75Seconds,
            f.LeadTime.Duration.P90Seconds, f.LeadTime.Duration.P95Seconds, Tier(f.LeadTime.Tier)),
        new ChangeFailureRateResponse(f.ChangeFailureRate.Deployments, f.ChangeFailureRate.Failures, f.ChangeFailureRate.RolledBack,
            f.ChangeFailureRate.Failed, f.ChangeFailureRate.IncidentLinked, f.ChangeFailureRate.Rate, Tier(f.ChangeFailureRate.Tier)),
        new TimeToRestoreResponse(f.TimeToRestore.Duration.Samples, f.TimeToRestore.Incidents, f.TimeToRestore.FailedDeployments, f.TimeToRestore.Unrestored,
            f.TimeToRestore.Duration.MedianSeconds, f.TimeToRestore.Duration.P75Seconds, f.TimeToRestore.Duration.P90Seconds,
            f.TimeToRestore.Duration.P95Seconds, Tier(f.TimeToRestore.Tier)),
        Tier(f.Tier));

    private static string? Tier(PerformanceTier? tier) => tier?.ToString().ToLowerInvariant();

    internal static bool IsTeam(string? team) => team is { Length: <= 64 } && Names.IsHostId(team);

    /// <summary><c>30d</c>, <c>12h</c>: a whole number of days or hours, more than zero, at most <see cref="MaxWindow"/>.</summary>
    public static bool TryParseWindow(string text, out TimeSpan window)
    {
        window = TimeSpan.Zero;
        if (text.Length is < 2 or > 6 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        window = text[^1] switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            _ => TimeSpan.Zero,
        };
        return window > TimeSpan.Zero && window <= MaxWindow;
    }
}

/// <summary>
/// The ledger records a DORA query covers: the services (one, a team's, or every one the catalog knows), their
/// deployments, the incidents, and the environments in scope — the one asked for, else every production-tier
/// environment the records name — narrowed to the environments an environment-bound key may read.
/// </summary>
public sealed record DeliveryRecords(
    IReadOnlyList<string> Services,
    IReadOnlyList<DeploymentRecord> Deployments,
    IReadOnlyList<IncidentSpan> Incidents,
    DoraScope Scope)
{
    public static async Task<DeliveryRecords> Read(
        IGrainFactory grains, string? service, string? team, string? environment, IReadOnlySet<string> boundEnvironments)
    {
        var catalog = await grains.Ref<IServiceCatalogGrain>(GrainKeys.ServiceCatalog).List();
        var services = service is not null
            ? (team is null || catalog.Any(s => s.Service == service && s.Team == team) ? [service] : [])
            : catalog.Where(s => team is null || s.Team == team).Select(s => s.Service).ToList();
        var ledgers = await Task.WhenAll(services.Select(s => grains.Ref<IDeliveryLedgerGrain>(GrainKeys.DeliveryLedger(s)).Read()));
        var deployments = ledgers.SelectMany(l => l.Deployments).Select(d => d.ToDomain()).ToList();
        var incidents = (await grains.Ref<IDeliveryLedgerGrain>(GrainKeys.IncidentLedger).Read()).Incidents.Select(i => i.ToDomain()).ToList();

        var environments = new HashSet<string>(StringComparer.Ordinal);
        if (environment is not null)
        {
            environments.Add(environment);
        }
        else
        {
            var named = deployments.Select(d => d.Environment).Concat(incidents.Select(i => i.Environment).OfType<string>());
            foreach (var name in named.Distinct(StringComparer.Ordinal))
            {
                if (await EnvironmentDeclarationsApi.IsProduction(grains, name)) environments.Add(name);
            }
        }

        if (boundEnvironments.Count > 0) environments.IntersectWith(boundEnvironments);
        var scope = new DoraScope(environments, service is not null || team is not null ? services.ToHashSet(StringComparer.Ordinal) : null);
        return new DeliveryRecords(services, deployments, incidents, scope);
    }
}
