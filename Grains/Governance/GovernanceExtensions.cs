using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

public static class GovernanceExtensions
{
    /// <summary>
    /// The change process: options "Governance" (validated at start), change-record providers (built-in store and
    /// ITSM over HTTP, "Governance:ChangeRecords"), and the workflow, change-record, approval, readiness and
    /// post-implementation-review gates.
    /// </summary>
    public static IServiceCollection AddGovernance(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GovernanceOptions>().Bind(configuration.GetSection(GovernanceOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GovernanceOptions>, GovernanceOptionsValidator>());
        services.AddOutboundHttp<ChangeRecordOptions, ChangeRecordOptionsValidator>(configuration, ChangeRecordOptions.Section, HttpChangeRecordProvider.HttpClientName);
        services.TryAddSingleton<BuiltInChangeRecordProvider>();
        services.TryAddSingleton<HttpChangeRecordProvider>();
        services.TryAddSingleton<ChangeRecordProviders>();
        services.TryAddSingleton<GovernanceEvaluator>();
        services.AddEventFollower<ReviewOpener>();
        services.AddRolloutGate<WorkflowGate>();
        services.AddRolloutGate<PirGate>();
        services.AddRolloutGate<ChangeRecordGate>();
        services.AddRolloutGate<ApprovalGate>();
        services.AddRolloutGate<ReadinessGate>();
        return services;
    }
}
