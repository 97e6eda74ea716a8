using Deploy.Engine.Grains.Gates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Environments;

public static class EnvironmentExtensions
{
    /// <summary>
    /// Declared environments: options from section "Environments" (validated at start), the promotion gate (promotion
    /// order, declared gates, data isolation, torn-down environments), the rollback readiness gate (drills against the declared RTO), and the declarations folder loaded at start.
    /// </summary>
    public static IServiceCollection AddDeclaredEnvironments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EnvironmentOptions>().Bind(configuration.GetSection(EnvironmentOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EnvironmentOptions>, EnvironmentOptionsValidator>();
        services.AddRolloutGate<PromotionGate>();
        services.AddRolloutGate<Gates.RollbackReadinessGate>();
        services.AddRolloutGate<Gates.SchemaGate>();
        services.AddHostedService<DeclarationFileLoader>();
        return services;
    }
}
