using System.Text.Json;
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

/// <summary>
/// Replay with no rollout involved: one Argo-style threshold metric and its measurements (<c>metric</c>,
/// <c>measurements</c>; answered with the metric's result), or a whole run as Argo's AnalysisRun holds it
/// (<c>metrics</c>, <c>dryRun</c>, <c>metricResults: [{name, measurements}]</c>; answered with the run).
/// </summary>
public sealed record AnalysisRunReplayRequest(
    ThresholdMetricDeclaration? Metric,
    List<MeasurementRequest?>? Measurements,
    bool? Terminated,
    List<ThresholdMetricDeclaration?>? Metrics = null,
    List<DryRunDeclaration?>? DryRun = null,
    List<MetricResultRequest?>? MetricResults = null);

/// <summary>One metric's measurements in a whole-run replay (Argo's <c>status.metricResults[]</c>).</summary>
public sealed record MetricResultRequest(string? Name, List<MeasurementRequest?>? Measurements);

/// <summary>
/// A measured value: <c>value</c> a number or, as Prometheus and Argo write them, <c>"NaN"</c>, <c>"+Inf"</c>,
/// <c>"-Inf"</c>; or <c>values</c>, a vector (read as <c>result[0]</c>); or the <c>error</c> a provider gave instead;
/// none of them means no data. <c>inFlight</c>: started, not finished (the last measurement only).
/// </summary>
public sealed record MeasurementRequest(JsonElement? Value, string? Error, List<JsonElement>? Values = null, bool? InFlight = null);

/// <summary>Canary analyses (inputs, per-metric classification, verdict) and the replay endpoints users debug verdicts with.</summary>
public static class AnalysesApi
{
    public const int MaxSamplesPerSide = 10_000;

    public static RouteGroupBuilder MapAnalysesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/analyses").WithTags("Analyses");
        group.MapGet("/{id}", Get).RequireAuthorization(Policies.Read).ScopedBy(Scope.Analysis)
            .WithSummary("A canary analysis: its inputs, each metric's classification, and the verdict");
        group.MapPost("/judge", Judge).RequireAuthorization(Policies.Read).ScopeFree("a pure replay of the judge on the samples in the body: reads and stores nothing")
            .WithSummary("Replays the canary judge on samples you give, with no rollout involved").WithDescription("Send a judge configuration with baseline and canary samples per metric; the answer is the classification and score the judge would give. Nothing is stored.");
        group.MapPost("/runs", Run).RequireAuthorization(Policies.Read).ScopeFree("a pure replay of an analysis run on the values in the body: reads and stores nothing")
            .WithSummary("Replays a threshold analysis run on values you give, with no rollout involved").WithDescription("Send an Argo-style metric (success and failure conditions, limits) and the measured values or provider errors; the answer is the run's outcome. Nothing is stored.");
        return group;
    }

    public static async Task<Results<Ok<AnalysisSnapshot>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        GrainKeys.TryParseAnalysis(id, out _, out _) && await grains.Ref<ICanaryAnalysisGrain>(id).Get() is { } analysis
            ? TypedResults.Ok(analysis)
            : Problems.NotFound($"analysis '{id}' does not exist");

    public const int MaxMeasurements = 1_000;

    public const int MaxVectorLength = 1_000;

    public static Results<Ok<MetricRunView>, Ok<AnalysisRunView>, ValidationProblem> Run(AnalysisRunReplayRequest request)
    {
        var errors = new ValidationErrors();
        var whole = request.Metrics is not null || request.MetricResults is not null || request.DryRun is not null;
        if (whole)
        {
            if (request.Metric is not null || request.Measurements is not null)
            {
                errors.Add("metric", "give one metric with 'measurements', or a whole run with 'metrics' and 'metricResults', not both");
                return Problems.Validation(errors.ToDictionary());
            }

            return RunWhole(request, errors);
        }

        if (request.Metric is null) errors.Add("metric", "is required: name, successCondition and/or failureCondition, limits (or 'metrics' for a whole run)");
        var measurements = Measurements(request.Measurements, "measurements", errors);
        var metric = request.Metric is null ? null : AnalysisRunMapping.ToMetric(request.Metric, "metric.", errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        return TypedResults.Ok(AnalysisRunMapping.ViewMetric(AnalysisRunEvaluator.Evaluate(metric!, measurements, request.Terminated ?? false)));
    }

    private static Results<Ok<MetricRunView>, Ok<AnalysisRunView>, ValidationProblem> RunWhole(AnalysisRunReplayRequest request, ValidationErrors errors)
    {
        var metrics = new List<ThresholdMetric>();
        if (request.Metrics is not { Count: > 0 } declared) errors.Add("metrics", "is required: at least one metric");
        else if (declared.Count > AnalysisRunMapping.MaxMetrics) errors.Add("metrics", $"at most {AnalysisRunMapping.MaxMetrics} metrics");
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < declared.Count; i++)
            {
                if (declared[i] is not { } d) errors.Add($"metrics[{i}]", "must be a metric");
                else if (AnalysisRunMapping.ToMetric(d, $"metrics[{i}].", errors) is { } metric)
                {
                    if (!names.Add(metric.Name)) errors.Add($"metrics[{i}].name", $"duplicate name '{metric.Name}'");
                    metrics.Add(metric);
                }
            }
        }

        var byName = new Dictionary<string, IReadOnlyList<Measurement>>(StringComparer.Ordinal);
        var results = request.MetricResults ?? [];
        for (var i = 0; i < results.Count; i++)
        {
            var at = $"metricResults[{i}]";
            if (results[i] is not { } result || string.IsNullOrEmpty(result.Name))
            {
                errors.Add(at + ".name", "is required: the name of a metric in 'metrics'");
                continue;
            }

            if (request.Metrics is { } all && !all.Any(m => m?.Name == result.Name))
                errors.Add(at + ".name", $"'{result.Name}' is not a metric of 'metrics'");
            else if (byName.ContainsKey(result.Name)) errors.Add(at + ".name", $"'{result.Name}' has its measurements twice");
            else byName[result.Name] = Measurements(result.Measurements, at + ".measurements", errors);
        }

        var names2 = (request.Metrics ?? []).Where(m => m?.Name is not null).Select(m => m!.Name!).ToList();
        var rules = AnalysisRunMapping.ValidateDryRun(request.DryRun, names2, "", errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        var run = AnalysisRunEvaluator.Evaluate(
            metrics.Select(m => (m, byName.GetValueOrDefault(m.Name) ?? [])).ToList(), request.Terminated ?? false, rules);
        return TypedResults.Ok(AnalysisRunMapping.View(run));
    }

    /// <summary>The measurements as the evaluator takes them, or field errors under <paramref name="at"/>.</summary>
    private static List<Measurement> Measurements(List<MeasurementRequest?>? given, string at, ValidationErrors errors)
    {
        if (given is null)
        {
            errors.Add(at, "is required: [{\"value\": 0.01}, {\"value\": \"NaN\"}, {\"values\": [0.5]}, {\"error\": \"timeout\"}, ...]");
            return [];
        }

        if (given.Count > MaxMeasurements)
        {
            errors.Add(at, $"at most {MaxMeasurements}");
            return [];
        }

        var list = new List<Measurement>(given.Count);
        for (var i = 0; i < given.Count; i++)
        {
            var field = $"{at}[{i}]";
            if (given[i] is not { } m)
            {
                errors.Add(field, "must be an object: {value}, {values}, {error} or {} for no data");
                continue;
            }

            if (m.Error is { Length: > 500 }) errors.Add(field + ".error", "at most 500 characters");
            if (m.Value is not null && m.Values is not null) errors.Add(field, "give 'value' or 'values', not both");
            if (m.InFlight is true && i != given.Count - 1) errors.Add(field + ".inFlight", "only the last measurement can be in flight");
            double? value = null;
            if (m.Value is { } v && !TryNumber(v, out value)) errors.Add(field + ".value", "must be a number, \"NaN\", \"+Inf\" or \"-Inf\"");
            List<double>? values = null;
            if (m.Values is { } vs)
            {
                if (vs.Count > MaxVectorLength) errors.Add(field + ".values", $"at most {MaxVectorLength} values");
                values = [];
                for (var k = 0; k < vs.Count && k < MaxVectorLength; k++)
                {
                    if (TryNumber(vs[k], out var item) && item is { } number) values.Add(number);
                    else errors.Add($"{field}.values[{k}]", "must be a number, \"NaN\", \"+Inf\" or \"-Inf\"");
                }
            }

            list.Add(new Measurement(value, m.Error) { Values = values, InFlight = m.InFlight ?? false });
        }

        return list;
    }

    /// <summary>A JSON number, or a string as Prometheus writes non-finite values (NaN, +Inf, -Inf; Inf and ±Infinity too).</summary>
    private static bool TryNumber(JsonElement element, out double? value)
    {
        value = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.Number when element.TryGetDouble(out var d):
                value = d;
                return true;
            case JsonValueKind.String:
                value = element.GetString() switch
                {
                    "NaN" => double.NaN,
                    "+Inf" or "Inf" or "Infinity" or "+Infinity" => double.PositiveInfinity,
                    "-Inf" or "-Infinity" => double.NegativeInfinity,
                    _ => null,
                };
                return value is not null;
            default:
                return false;
        }
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
