using System.Text.Json.Serialization;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Api.Resources;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Api;

public static class ApiExtensions
{
    /// <summary>JSON, ProblemDetails, API-key authentication with role policies, OpenAPI.</summary>
    public static IServiceCollection AddDeployEngineApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<EngineExceptionHandler>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => configuration.GetSection("Auth").Bind(o));
        services.AddAuthorization(o =>
        {
            foreach (var (policy, roles) in Policies.RolesByPolicy)
            {
                o.AddPolicy(policy, p => p.RequireAuthenticatedUser().RequireRole(roles));
            }

            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        services.AddScoped<IdempotencyFilter>();
        services.AddOpenApi();
        return services;
    }

    public static WebApplication UseDeployEngineApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi().AllowAnonymous();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/readyz", Ready).AllowAnonymous().ExcludeFromDescription();
        app.MapReleasesApi();
        app.MapEnvironmentsApi();
        app.MapRolloutsApi();
        app.MapHostsApi();
        return app;
    }

    /// <summary>Ready when a grain call that reads storage succeeds (the exception handler turns failure into 503).</summary>
    private static async Task<IResult> Ready(IGrainFactory grains)
    {
        await grains.GetGrain<IReleaseGrain>("readiness-probe").Get();
        return TypedResults.Ok(new { status = "ready" });
    }
}
