using Deploy.Engine.Grains.Gates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

public static class CoordinationExtensions
{
    /// <summary>
    /// Windows and freezes, incident halt, service dependencies and blast-radius budgets: their options (section
    /// "Governance", validated at start) and their gates.
    /// </summary>
    public static IServiceCollection AddCoordination(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CoordinationOptions>().Bind(configuration.GetSection(CoordinationOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CoordinationOptions>, CoordinationOptionsValidator>();
        services.AddRolloutGate<IncidentGate>();
        services.AddRolloutGate<CalendarGate>();
        services.AddRolloutGate<DependencyGate>();
        services.AddRolloutGate<BlastRadiusGate>();
        return services;
    }
}
