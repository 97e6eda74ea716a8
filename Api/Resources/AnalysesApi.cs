using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Analysis;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

/// <summary>Replay: a judge configuration with baseline and canary samples per metric, judged with no rollout involved.</summary>
public sealed record JudgeReplayRequest(JudgeDeclaration? Judge, Dictionary<string, AnalysisSamples>? Samples);

/// <summary>Replay: an Argo-style threshold metric and a list of measured values (or errors), evaluated with no rollout involved.</summary>
public sealed record AnalysisRunReplayRequest(ThresholdMetricDeclaration? Metric, List<MeasurementRequest?>? Measurements, bool? Terminated);

/// <summary>A measured value, or the error a provider gave instead; neither means no data.</summary>
public sealed record MeasurementRequest(double? Value, string? Error);

/// <summary>Canary analyses (inputs, per-metric classification, verdict) and the replay endpoints users debug verdicts with.</summary>
public static class AnalysesApi
{
    public const int MaxSamplesPerSide = 10_000;

    public static RouteGroupBuilder MapAnalysesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/analyses").WithTags("Analyses");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read)
            .WithSummary("A canary analysis: its inputs, each metric's classification, and the verdict");
        group.MapPost("/judge", Judge).RequireAuthorization(Policies.Read)
            .WithSummary("Replays the canary judge on samples you give, with no rollout involved").WithDescription("Send a judge configuration with baseline and canary samples per metric; the answer is the classification and score the judge would give. Nothing is stored.");
        group.MapPost("/runs", Run).RequireAuthorization(Policies.Read)
            .WithSummary("Replays a threshold analysis run on values you give, with no rollout involved").WithDescription("Send an Argo-style metric (success and failure conditions, limits) and the measured values or provider errors; the answer is the run's outcome. Nothing is stored.");
        return group;
    }

    public static async Task<Results<Ok<AnalysisSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        GrainKeys.TryParseAnalysis(id, out _, out _) && await grains.Ref<ICanaryAnalysisGrain>(id).Get() is { } analysis
            ? TypedResults.Ok(analysis)
            : Problems.NotFound($"analysis '{id}' does not exist");

    public const int MaxMeasurements = 1_000;

    public static Results<Ok<MetricRunView>, ValidationProblem> Run(AnalysisRunReplayRequest request)
    {
        var errors = new ValidationErrors();
        if (request.Metric is null) errors.Add("metric", "is required: name, successCondition and/or failureCondition, limits");
        if (request.Measurements is not { } measurements) errors.Add("measurements", "is required: [{\"value\": 0.01}, {\"error\": \"timeout\"}, ...]");
        else if (measurements.Count > MaxMeasurements) errors.Add("measurements", $"at most {MaxMeasurements}");
        else if (measurements.Any(x => x is null || x.Value is { } v && !double.IsFinite(v) || x.Error is { Length: > 500 }))
            errors.Add("measurements", "each is an object with a finite value or an error of at most 500 characters");
        var metric = request.Metric is null ? null : AnalysisRunMapping.ToMetric(request.Metric, "metric.", errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        return TypedResults.Ok(AnalysisRunMapping.ViewMetric(AnalysisRunEvaluator.Evaluate(metric!,
            request.Measurements!.Select(x => new Measurement(x!.Value, x.Error)).ToList(), request.Terminated ?? false)));
    }

    public static Results<Ok<JudgeVerdictView>, ValidationProblem> Judge(JudgeReplayRequest request)
    {
        var errors = new ValidationErrors();
        if (request.Judge is null) errors.Add("judge", "is required: metrics, optional groupWeights and thresholds");
        else JudgeMapping.ToConfig(request.Judge, "judge.", errors);
        foreach (var (metric, samples) in request.Samples ?? [])
        {
            if (samples?.Baseline is null || samples.Canary is null) errors.Add($"samples.{metric}", "must have baseline and canary arrays");
            else if (samples.Baseline.Count > MaxSamplesPerSide || samples.Canary.Count > MaxSamplesPerSide)
                errors.Add($"samples.{metric}", $"at most {MaxSamplesPerSide} samples per side");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        return TypedResults.Ok(JudgeMapping.Judge(request.Judge!, request.Samples ?? []));
    }
}
