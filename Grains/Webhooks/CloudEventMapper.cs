using System.Globalization;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Webhooks;

/// <summary>
/// An engine event as a structured-mode CloudEvent 1.0 whose data is a CDEvent (v0.4.1): <c>{context, subject,
/// customData}</c>. CDEvents types (service.deployed, service.rolledback, pipelinerun.*, environment.*) carry the
/// subject content CDEvents defines; engine events (<c>dev.cdeventsx.deploy-engine.*</c>) carry their subject id and kind.
/// Every event carries <c>customData.reason</c> and <c>customData.data</c> (the engine's own fields). The mapping is a
/// function of the event alone, so every retry of an event sends the same bytes.
/// </summary>
public static class CloudEventMapper
{
    public const string CdEventsVersion = "0.4.1";
    public const string ContentType = "application/cloudevents+json; charset=utf-8";

    private static readonly JsonEventFormatter Formatter = new();

    public static byte[] Encode(EngineEvent item, string source)
    {
        ArgumentNullException.ThrowIfNull(item);
        var data = CdEvent(item, source);
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = item.Id,
            Source = new Uri(source, UriKind.RelativeOrAbsolute),
            Type = item.Type,
            Time = item.Timestamp,
            Subject = (string?)data["subject"]!["id"],
            DataContentType = "application/json",
            Data = data,
        };
        return Formatter.EncodeStructuredModeMessage(cloudEvent, out _).ToArray();
    }

    /// <summary>The CDEvent for <paramref name="item"/>.</summary>
    public static JsonObject CdEvent(EngineEvent item, string source)
    {
        ArgumentNullException.ThrowIfNull(item);
        var d = item.Data;
        var (id, kind, content) = item.Type switch
        {
            EventTypes.ServiceDeployed or EventTypes.ServiceRolledBack => (
                "service/" + Field(d, "service"), "service",
                new JsonObject
                {
                    ["environment"] = new JsonObject { ["id"] = Field(d, "environment") },
                    ["artifactId"] = Purl(d),
                }),
            EventTypes.PipelineRunQueued or EventTypes.PipelineRunStarted or EventTypes.PipelineRunFinished => (
                Field(d, "rollout", SubjectId(item.Subject)), "pipelineRun", PipelineRun(item)),
            EventTypes.EnvironmentCreated or EventTypes.EnvironmentModified => (
                SubjectId(item.Subject), "environment", new JsonObject { ["name"] = SubjectId(item.Subject) }),
            EventTypes.IncidentDeclared or EventTypes.IncidentResolved => (SubjectId(item.Subject), "incident", Incident(d)),
            _ => (SubjectId(item.Subject), SubjectKind(item.Subject), new JsonObject()),
        };

        var customData = new JsonObject();
        foreach (var (key, value) in d.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            customData[key] = value;
        }

        return new JsonObject
        {
            ["context"] = new JsonObject
            {
                ["version"] = CdEventsVersion,
                ["id"] = item.Id,
                ["source"] = source,
                ["type"] = item.Type,
                ["timestamp"] = item.Timestamp.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            },
            ["subject"] = new JsonObject { ["id"] = id, ["source"] = source, ["type"] = kind, ["content"] = content },
            ["customDataContentType"] = "application/json",
            ["customData"] = new JsonObject { ["reason"] = item.Reason, ["subject"] = item.Subject, ["data"] = customData },
        };
    }

    private static JsonObject PipelineRun(EngineEvent item)
    {
        var content = new JsonObject
        {
            ["pipelineName"] = $"{Field(item.Data, "service")} to {Field(item.Data, "environment")}",
            ["url"] = "/v1/rollouts/" + Field(item.Data, "rollout", SubjectId(item.Subject)),
        };
        if (item.Type == EventTypes.PipelineRunFinished)
        {
            // CDEvents outcomes: success | error | failure; the engine publishes success or failure.
            content["outcome"] = Field(item.Data, "outcome", "failure");
            if (content["outcome"]!.GetValue<string>() != "success" && item.Reason is { } reason) content["errors"] = reason;
        }

        return content;
    }

    /// <summary>
    /// An incident's content, shaped after CDEvents' incident events (environment and service as references) plus the
    /// release named or found active: <c>{"environment": {"id"}, "service": {"id"}, "release": "…", "releaseLink": "…"}</c>,
    /// each only when known.
    /// </summary>
    private static JsonObject Incident(IReadOnlyDictionary<string, string> d)
    {
        var content = new JsonObject();
        if (Field(d, "environment") is { Length: > 0 } environment) content["environment"] = new JsonObject { ["id"] = environment };
        if (Field(d, "service") is { Length: > 0 } service) content["service"] = new JsonObject { ["id"] = service };
        if (Field(d, "release") is { Length: > 0 } release)
        {
            content["release"] = release;
            content["releaseLink"] = Field(d, "releaseLink", "named");
        }

        return content;
    }

    /// <summary>The artifact as a package URL: <c>pkg:generic/{service}@{version}?checksum=sha256:{hex}</c>.</summary>
    private static string Purl(IReadOnlyDictionary<string, string> d) =>
        $"pkg:generic/{Uri.EscapeDataString(Field(d, "service"))}@{Uri.EscapeDataString(Field(d, "version"))}" +
        (d.TryGetValue("artifact", out var artifact) && artifact.Length > 0 ? "?checksum=" + Uri.EscapeDataString(artifact) : string.Empty);

    private static string Field(IReadOnlyDictionary<string, string> d, string key, string fallback = "") =>
        d.TryGetValue(key, out var value) && value.Length > 0 ? value : fallback;

    private static string SubjectId(string subject) => subject.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? subject[(slash + 1)..] : subject;

    private static string SubjectKind(string subject) => subject.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? subject[..slash] : "engine";
}
