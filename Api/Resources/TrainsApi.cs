using System.Security.Claims;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Deploy.Engine.Api.Resources;

public sealed record CreateTrainRequest(string? Name, List<string?>? Releases, string? Environment, RolloutStrategySpec? Strategy);

/// <summary>Release trains: several services' releases that roll out in dependency order and abort together.</summary>
public static class TrainsApi
{
    public const int MaxReleases = 20;

    public static RouteGroupBuilder MapTrainsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/trains").WithTags("Trains");
        group.MapPost("/", Create).RequireAuthorization(Policies.Submit).ScopedBy(Scope.NewTrain)
            .WithSummary("Creates a release train: releases that move through environments together");
        group.MapGet("/{name}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Train)
            .WithSummary("A release train and where each of its releases stands");
        return group;
    }

    public static async Task<Results<Created<TrainSnapshot>, ValidationProblem, ProblemHttpResult>> Create(
        CreateTrainRequest request, ClaimsPrincipal user, IGrainFactory grains, IConfiguration configuration)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(request.Name)) errors.Add("name", "must be a lower-case DNS label");
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "must be an environment name");
        var releases = request.Releases ?? [];
        if (releases.Count is < 1 or > MaxReleases) errors.Add("releases", $"must list 1 to {MaxReleases} release ids");
        else if (releases.Any(r => r is null || r.Length > 64 || !Names.IsHostId(r))) errors.Add("releases", "every item must be a release id");
        else if (releases.Distinct(StringComparer.Ordinal).Count() != releases.Count) errors.Add("releases", "a release is listed twice");
        var strategy = request.Strategy ?? new RolloutStrategySpec();
        RolloutsApi.ValidateStrategy(strategy, errors, configuration);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IReleaseTrainGrain>(request.Name!).Create(new TrainDraft
        {
            Releases = releases.Select(r => r!).ToList(),
            Environment = request.Environment!,
            Strategy = strategy,
            SubmittedBy = user.Caller(),
            SubmitterRole = user.CallerRoles(),
        });
        return result.Ok ? TypedResults.Created($"/v1/trains/{request.Name}", result.Value!) : Problems.From(result);
    }

    public static async Task<Results<Ok<TrainSnapshot>, ProblemHttpResult>> Get(string name, IGrainFactory grains) =>
        Names.IsDnsLabel(name) && await grains.Ref<IReleaseTrainGrain>(name).Get() is { } train
            ? TypedResults.Ok(train)
            : Problems.NotFound($"train '{name}' does not exist");
}
