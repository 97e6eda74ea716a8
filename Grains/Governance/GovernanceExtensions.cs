using Deploy.Engine.Grains.Gates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

public static class GovernanceExtensions
{
    /// <summary>
    /// Windows and freezes, incident halt, service dependencies and blast-radius budgets: their options (section
    /// "Governance", validated at start) and their gates.
    /// </summary>
    public static IServiceCollection AddGovernance(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GovernanceOptions>().Bind(configuration.GetSection(GovernanceOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GovernanceOptions>, GovernanceOptionsValidator>();
        services.AddRolloutGate<IncidentGate>();
        services.AddRolloutGate<CalendarGate>();
        services.AddRolloutGate<DependencyGate>();
        services.AddRolloutGate<BlastRadiusGate>();
        return services;
    }
}
