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
            // Strict input: an unknown field or enum value (a misspelt safety setting) is a 400 naming it, never dropped.
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });

        // Unreadable bodies reach EngineExceptionHandler, which names the field, instead of an anonymous 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            // Problems the framework writes itself (unreadable body, unknown route, wrong method) get the
            // same stable types as the engine's own.
            var problem = ctx.ProblemDetails;
            if (problem.Type?.StartsWith("urn:deploy-engine:", StringComparison.Ordinal) == true)
            {
                return;
            }

            (problem.Type, problem.Detail) = problem.Status switch
            {
                413 => (Problems.PayloadTooLargeType, problem.Detail ?? "The request body is too large."),
                400 or 415 => (Problems.ValidationType, problem.Detail ?? "The request body is missing or is not valid JSON for this operation."),
                404 => (Problems.NotFoundType, problem.Detail ?? "No such resource or route."),
                405 => (Problems.NotFoundType, problem.Detail ?? "This route does not accept that method."),
                401 => (Problems.UnauthorizedType, problem.Detail),
                403 => (Problems.ForbiddenType, problem.Detail),
                503 => (Problems.UnavailableType, problem.Detail),
                _ => (Problems.InternalType, problem.Detail),
            };
        });
        services.AddExceptionHandler<EngineExceptionHandler>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => configuration.GetSection("Auth").Bind(o));
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ApiKeyOptions>, ApiKeyOptionsValidator>();
        services.AddOptions<ApiKeyOptions>(ApiKeyAuthenticationHandler.SchemeName).ValidateOnStart();
        services.AddAuthorization(o =>
        {
            foreach (var (policy, roles) in Policies.RolesByPolicy)
            {
                o.AddPolicy(policy, p => p.RequireAuthenticatedUser().RequireRole(roles));
            }

            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        services.AddScoped<IdempotencyFilter>();
        services.Configure<ApiLimits>(configuration.GetSection(ApiLimits.Section));
        services.AddOpenApi();
        services.AddHostedService<DoraGauges>();
        services.Configure<Streaming.EventStreamOptions>(configuration.GetSection(Streaming.EventStreamOptions.Section));
        services.AddSingleton<Streaming.EventStreamHub>();
        return services;
    }

    public static WebApplication UseDeployEngineApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseMiddleware<JsonCharsetMiddleware>();
        app.UseDeployEngineDashboard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi().AllowAnonymous();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/readyz", Ready).AllowAnonymous().ExcludeFromDescription();
        // Every resource route sits in one group whose filter holds the calling key's environment and service scope
        // (KeyScopeFilter); each route declares how (ScopedBy / ScopeFree / UnscopedKeysOnly, Infrastructure/ScopeRules.cs).
        var api = app.MapGroup(string.Empty).AddEndpointFilter<KeyScopeFilter>().WithMetadata(KeyScopeEnforced.Instance);
        api.MapReleasesApi();
        api.MapEnvironmentsApi();
        api.MapRolloutsApi();
        api.MapHostsApi();
        api.MapQuarantineApi();
        api.MapDrillsApi();
        api.MapAnalysesApi();
        api.MapSupplyChainApi();
        api.MapAuditApi();
        api.MapEnvironmentDeclarationsApi();
        api.MapArtifactsApi();
        api.MapConfigurationApi();
        api.MapChangeRecordsApi();
        api.MapReviewsApi();
        api.MapCalendarsApi();
        api.MapIncidentsApi();
        api.MapServicesApi();
        api.MapTrainsApi();
        api.MapMetricsApi();
        api.MapWebhooksApi();
        api.MapFlagsApi();
        api.MapCatalogApi();
        api.MapEventStreamApi();
        api.MapMeApi();
        return app;
    }

    /// <summary>
    /// Ready when both state stores (table and blob) answer a fresh read; a storage failure or timeout becomes 503 with
    /// Retry-After through the exception handler.
    /// </summary>
    private static async Task<IResult> Ready(IGrainFactory grains)
    {
        await grains.Ref<IStorageProbeGrain>(GrainKeys.StorageProbe).Probe();
        return TypedResults.Ok(new { status = "ready" });
    }
}
