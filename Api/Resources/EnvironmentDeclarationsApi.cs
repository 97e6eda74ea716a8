using System.Security.Claims;
using System.Text.Json;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Domain.Artifacts;
using Deploy.Engine.Domain.Environments;
using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Deploy.Engine.Api.Resources;

public sealed record DeclarationsResponse(IReadOnlyList<EnvironmentDeclarationSnapshot> Declared);

public sealed record ParityDifference(string Field, string? A, string? B);

/// <summary>Every difference between two declared baselines; <c>a</c>/<c>b</c> are the values of each side (null: not declared there).</summary>
public sealed record ParityResponse(string A, string B, EnvironmentTier TierA, EnvironmentTier TierB, bool Identical, IReadOnlyList<ParityDifference> Differences);

/// <summary><c>mode</c>: <c>reapply</c> (the declared state through a rollout) or <c>accept</c> (the actual facts into the baseline).</summary>
public sealed record ReconcileRequest(string? Mode, List<string>? Hosts, string? Reason);

/// <summary>Approving or rejecting a declaration change: a rejection says why.</summary>
public sealed record DeclarationDecisionRequest(string? Reason);

public sealed record ServiceFactsRequest(string? Version, string? Artifact, string? ConfigHash);

/// <summary>What an agent's host actually runs: per service (version, artifact, configuration hash) and runtime facts.</summary>
public sealed record HostFactsRequest(Dictionary<string, ServiceFactsRequest>? Services, Dictionary<string, string>? Runtime);

/// <summary>A gate result the pipeline posts against a release: <c>status</c> passed or failed.</summary>
public sealed record GateResultRequest(string? Environment, string? Gate, string? Status, string? Url, string? Details);

/// <summary>
/// Declared environments: declarations (JSON or YAML), parity between two baselines, drift and its reconcile, host
/// facts reported by agents, and gate results posted by the pipeline against releases.
/// </summary>
public static class EnvironmentDeclarationsApi
{
    public static IEndpointRouteBuilder MapEnvironmentDeclarationsApi(this IEndpointRouteBuilder routes)
    {
        var environments = routes.MapGroup("/v1/environments").WithTags("Environments");
        environments.MapPut("/{name}/declaration", Declare).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment)
            .Accepts<JsonElement>("application/json", "application/yaml")
            .WithSummary("Declares one environment in JSON or YAML, creating it when new; a production-tier or protected one changes only through approval (202)").WithDescription("The name in the document, if any, must be the one in the path.");
        environments.MapGet("/{name}/declaration", GetDeclaration).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("An environment's declaration, with its ETag");
        environments.MapGet("/{name}/declaration/changes", ListChanges).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("Declaration changes proposed for a production-tier or protected environment");
        environments.MapGet("/{name}/declaration/changes/{id}", GetChange).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("One proposed declaration change: its diff, votes and state");
        environments.MapPost("/{name}/declaration/changes/{id}/approve", (string name, string id, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Decide(name, id, approve: true, body, user, grains)).RequireAuthorization(Policies.DeclarationChange).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Approves a proposed declaration change (a change authority other than the proposer); it applies once enough have approved");
        environments.MapPost("/{name}/declaration/changes/{id}/reject", (string name, string id, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains) =>
            Decide(name, id, approve: false, body, user, grains)).RequireAuthorization(Policies.DeclarationChange).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Rejects a proposed declaration change, with the reason");
        environments.MapPost("/declarations", DeclareMany).RequireAuthorization(Policies.Operate).UnscopedKeysOnly("declares many environments in one document; a scoped key declares its own one at a time with PUT /v1/environments/{name}/declaration")
            .Accepts<JsonElement>("application/json", "application/yaml")
            .WithSummary("Declares many environments at once; all are validated before any is stored");
        environments.MapGet("/{a}/parity/{b}", Parity).RequireAuthorization(Policies.Read).ScopedBy(Scope.EnvironmentPair)
            .WithSummary("Every difference between the declared baselines of two environments");
        environments.MapGet("/{name}/drift", Drift).RequireAuthorization(Policies.Read).ScopedBy(Scope.Environment)
            .WithSummary("The last drift scan of an environment: hosts whose facts differ from the declaration");
        environments.MapPost("/{name}/drift/scan", Scan).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Scans an environment for drift now");
        environments.MapPost("/{name}/drift/reconcile", Reconcile).RequireAuthorization(Policies.Operate).ScopedBy(Scope.WholeEnvironment)
            .WithSummary("Reconciles drift: reapply the declared state, or accept the actual facts into the baseline");

        var hosts = routes.MapGroup("/v1/hosts").WithTags("Hosts");
        hosts.MapPost("/{id}/facts", ReportFacts).RequireAuthorization(Policies.Agent).ScopedBy(Scope.WholeHost)
            .WithSummary("An agent reports what its host actually runs");
        hosts.MapGet("/{id}/facts", GetFacts).RequireAuthorization(Policies.Read).ScopedBy(Scope.Host)
            .WithSummary("What a host last reported it runs");

        var releases = routes.MapGroup("/v1/releases").WithTags("Releases");
        releases.MapPost("/{id}/gates", RecordGate).RequireAuthorization(Policies.Submit).ScopedBy(Scope.ReleaseAndBodyEnvironment)
            .WithSummary("The pipeline posts a gate result (passed or failed) against a release");
        releases.MapGet("/{id}/gates", ListGates).RequireAuthorization(Policies.Read).ScopedBy(Scope.Release)
            .WithSummary("The gate results posted against a release");
        return routes;
    }

    /// <summary>
    /// Declares one environment (creating it when new). The name in the document, if any, must be the one in the path.
    /// <c>If-Match</c> (the ETag of a GET of the declaration, or <c>*</c>) and <c>If-None-Match: *</c> (create only) are
    /// checked in the same turn as the write: 412 and nothing written when they do not hold. The declaration of a
    /// production-tier or protected environment is never changed by this request, whoever sends it: it becomes a
    /// pending declaration change (202, its location and the diff) that a change authority other than the proposer
    /// approves (<c>POST .../declaration/changes/{id}/approve</c>) or rejects.
    /// </summary>
    public static async Task<Results<Ok<EnvironmentDeclarationSnapshot>, Accepted<DeclarationChangeSnapshot>, ValidationProblem, ProblemHttpResult>> Declare(
        string name, HttpRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name)) return Problems.Validation("name", "must be a lower-case DNS label (a-z, 0-9, '-'; 1-63 characters)");
        var headerErrors = new ValidationErrors();
        var precondition = Preconditions.Read(request, headerErrors);
        if (headerErrors.Any) return Problems.Validation(headerErrors.ToDictionary());
        var (document, error) = await ReadDocument(request);
        if (document is null) return Problems.Validation("$", error!);

        var errors = new ValidationErrors();
        var declaration = DeclarationParser.Parse(document.Value, errors, expectedName: name);
        if (declaration is not null) DeclarationParser.CheckOrder([(declaration, string.Empty)], await Declared(grains, except: name), errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var result = await grains.Ref<IEnvironmentDeclarationGrain>(name).Propose(declaration!, Actor(user), precondition, directOnly: false);
        if (!result.Ok) return Problems.From(result);
        if (result.Value!.Pending is { } pending)
        {
            return TypedResults.Accepted(ChangeLocation(name, pending.Id), pending);
        }

        request.HttpContext.Response.Headers.ETag = Preconditions.ETag(result.Value.Applied!.Version);
        return TypedResults.Ok(result.Value.Applied!);
    }

    /// <summary>Declares many environments at once (a list, or <c>{declarations: [...]}</c>): all are validated before any is stored.</summary>
    public static async Task<Results<Ok<DeclarationsResponse>, ValidationProblem, ProblemHttpResult>> DeclareMany(
        HttpRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var (document, error) = await ReadDocument(request);
        if (document is null) return Problems.Validation("$", error!);

        var errors = new ValidationErrors();
        var batch = DeclarationParser.ParseMany(document.Value, errors);
        if (!errors.Any && batch.Count == 0) errors.Add("declarations", "must hold at least one declaration");
        if (!errors.Any) DeclarationParser.CheckOrder(batch, await Declared(grains), errors);
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        // All or nothing: a batch never changes a production-tier or protected declaration (that is one change at a
        // time, through approval), so one such declaration refuses the batch before any is stored.
        var governed = new List<string>();
        foreach (var (declaration, _) in batch)
        {
            if (await IsGoverned(grains, declaration)) governed.Add(declaration.Name);
        }

        if (governed.Count > 0)
        {
            return Problems.Forbidden($"environment(s) {string.Join(", ", governed)} are production tier or protected: their declarations change only " +
                "through an approved declaration change; PUT each alone to /v1/environments/{name}/declaration to propose it. Nothing was declared.");
        }

        var declared = new List<EnvironmentDeclarationSnapshot>();
        foreach (var (declaration, _) in batch)
        {
            var result = await grains.Ref<IEnvironmentDeclarationGrain>(declaration.Name).Propose(declaration, Actor(user), new EnvironmentPrecondition(), directOnly: true);
            if (!result.Ok) return Problems.From(result);
            declared.Add(result.Value!.Applied!);
        }

        return TypedResults.Ok(new DeclarationsResponse(declared));
    }

    /// <summary>The declaration with its version as a strong ETag, for <c>If-Match</c> on the next PUT.</summary>
    public static async Task<Results<Ok<EnvironmentDeclarationSnapshot>, ProblemHttpResult>> GetDeclaration(string name, HttpContext http, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentDeclarationGrain>(name).Get() is not { } declared)
            return Problems.NotFound($"environment '{name}' is not declared");
        http.Response.Headers.ETag = Preconditions.ETag(declared.Version);
        return TypedResults.Ok(declared);
    }

    /// <summary>The declaration changes proposed for an environment, newest first (pending ones and the last decided).</summary>
    public static async Task<Results<Ok<IReadOnlyList<DeclarationChangeSnapshot>>, ProblemHttpResult>> ListChanges(string name, IGrainFactory grains) =>
        Names.IsDnsLabel(name) && await grains.Ref<IEnvironmentDeclarationGrain>(name).Get() is not null
            ? TypedResults.Ok(await grains.Ref<IEnvironmentDeclarationGrain>(name).Changes())
            : Problems.NotFound($"environment '{name}' is not declared");

    public static async Task<Results<Ok<DeclarationChangeSnapshot>, ProblemHttpResult>> GetChange(string name, string id, IGrainFactory grains) =>
        Names.IsDnsLabel(name) && (await grains.Ref<IEnvironmentDeclarationGrain>(name).Changes()).FirstOrDefault(c => c.Id == id) is { } change
            ? TypedResults.Ok(change)
            : Problems.NotFound($"environment '{name}' has no declaration change '{id}'");

    /// <summary>
    /// A change authority (approver role) approves or rejects a pending declaration change; never its proposer (422,
    /// four eyes). An approval below the required count is kept (200, still pending; the same approver counts once); the
    /// one that reaches it applies the change, only onto the declaration version it was proposed against: 409 and
    /// nothing applied when the declaration changed meanwhile. A decided change is 409 (invalid transition).
    /// </summary>
    public static async Task<Results<Ok<DeclarationChangeSnapshot>, ValidationProblem, ProblemHttpResult>> Decide(
        string name, string id, bool approve, DeclarationDecisionRequest? body, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (body?.Reason is { Length: > 1000 }) return Problems.Validation("reason", "must be at most 1000 characters");
        if (!approve && string.IsNullOrWhiteSpace(body?.Reason)) return Problems.Validation("reason", "is required: why the change is rejected");
        if (!Names.IsDnsLabel(name) || !Names.IsHostId(id)) return Problems.NotFound($"environment '{name}' has no declaration change '{id}'");
        var result = await grains.Ref<IEnvironmentDeclarationGrain>(name).Decide(id, approve, Actor(user, body?.Reason));
        return result.Ok ? TypedResults.Ok(result.Value!) : Problems.From(result);
    }

    private static string ChangeLocation(string environment, string id) => $"/v1/environments/{environment}/declaration/changes/{id}";

    /// <summary>Whether a declaration of <paramref name="declaration"/>'s environment would need approval (a batch refuses it).</summary>
    private static async Task<bool> IsGoverned(IGrainFactory grains, EnvironmentDeclaration declaration) =>
        await grains.Ref<IEnvironmentDeclarationGrain>(declaration.Name).Get() is { TornDownAt: null } current
        && JsonSerializer.Serialize(current.Declaration) != JsonSerializer.Serialize(declaration)
        && await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).IsProtected(declaration.Name);

    /// <summary>Every difference between the declared baselines of <paramref name="a"/> and <paramref name="b"/>, whatever their tiers.</summary>
    public static async Task<Results<Ok<ParityResponse>, ProblemHttpResult>> Parity(string a, string b, IGrainFactory grains)
    {
        var left = Names.IsDnsLabel(a) ? await grains.Ref<IEnvironmentDeclarationGrain>(a).Get() : null;
        if (left is null) return Problems.NotFound($"environment '{a}' is not declared");
        var right = Names.IsDnsLabel(b) ? await grains.Ref<IEnvironmentDeclarationGrain>(b).Get() : null;
        if (right is null) return Problems.NotFound($"environment '{b}' is not declared");

        var differences = BaselineParity.Compare(left.Declaration.Baseline.ToDomain(), right.Declaration.Baseline.ToDomain())
            .Select(d => new ParityDifference(d.Field, d.Expected, d.Actual))
            .ToList();
        return TypedResults.Ok(new ParityResponse(a, b, left.Declaration.Tier, right.Declaration.Tier, differences.Count == 0, differences));
    }

    /// <summary>The last drift scan (the reminder scans on <c>Environments:DriftScanInterval</c>); before the first, a scan now.</summary>
    public static async Task<Results<Ok<DriftReport>, ProblemHttpResult>> Drift(string name, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentDeclarationGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' is not declared");
        var declaration = grains.Ref<IEnvironmentDeclarationGrain>(name);
        var report = await declaration.GetDrift() ?? await declaration.ScanDrift();
        return report is null ? Problems.NotFound($"environment '{name}' has no drift scan") : TypedResults.Ok(report);
    }

    public static async Task<Results<Ok<DriftReport>, ProblemHttpResult>> Scan(string name, IGrainFactory grains)
    {
        if (!Names.IsDnsLabel(name) || await grains.Ref<IEnvironmentDeclarationGrain>(name).Get() is null)
            return Problems.NotFound($"environment '{name}' is not declared");
        var report = await grains.Ref<IEnvironmentDeclarationGrain>(name).ScanDrift();
        return report is null ? Problems.NotFound($"environment '{name}' has no drift scan") : TypedResults.Ok(report);
    }

    /// <summary>
    /// Reconciles drift. <c>accept</c>: the named (or every drifted) host's facts become the declared baseline.
    /// <c>reapply</c>: for each drifted service, the release recorded as deployed with the declared version is re-released
    /// (same service, version, artifact; metadata <c>reconciles</c>) and rolled out to the environment through the normal
    /// path (gates, admission, rolling defaults); drift a rollout cannot repair (runtime facts, undeclared services, a
    /// declared version no release in the environment carries) is listed in <c>notReapplied</c>. Into a production-tier
    /// environment only the pipeline role may reapply (403), as for any rollout; and nobody accepts drift into a
    /// production-tier or protected baseline directly (403: that is a declaration change, proposed and approved).
    /// </summary>
    public static async Task<Results<Ok<ReconcileOutcome>, ValidationProblem, ProblemHttpResult>> Reconcile(
        string name, ReconcileRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        var mode = request.Mode?.ToLowerInvariant() switch
        {
            "reapply" => ReconcileMode.Reapply,
            "accept" => (ReconcileMode?)ReconcileMode.Accept,
            _ => null,
        };
        if (mode is null) errors.Add("mode", "is required: reapply or accept");
        if (request.Hosts is { Count: > 10_000 }) errors.Add("hosts", "at most 10000 hosts");
        for (var i = 0; i < (request.Hosts?.Count ?? 0); i++)
        {
            if (!Names.IsHostId(request.Hosts![i])) errors.Add($"hosts[{i}]", "must be a host id");
        }

        if (request.Reason is { Length: > 1000 }) errors.Add("reason", "must be at most 1000 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        var declarations = grains.Ref<IEnvironmentDeclarationGrain>(name);
        if (!Names.IsDnsLabel(name) || await declarations.Get() is not { TornDownAt: null } declared)
            return Problems.NotFound($"environment '{name}' is not declared");

        var actor = Actor(user, request.Reason);
        if (mode == ReconcileMode.Accept)
        {
            // Accepting drift rewrites the declared baseline: for a production-tier or protected environment that is a
            // declaration change, so it goes through approval like any other.
            if (await grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).IsProtected(name))
            {
                return Problems.Forbidden($"environment '{name}' is production tier or protected: accepting drift rewrites its declared baseline, which " +
                    $"changes only through an approved declaration change (PUT /v1/environments/{name}/declaration proposes one); nothing was accepted");
            }

            var accepted = await declarations.AcceptDrift(request.Hosts, actor);
            return accepted.Ok ? TypedResults.Ok(accepted.Value!) : Problems.From(accepted);
        }

        if (declared.Declaration.Tier == EnvironmentTier.Production && !user.IsInRole(Roles.Pipeline))
            return ProductionNeedsPipeline(name);

        var drift = await declarations.ScanDrift();
        var drifted = (drift?.Drifted ?? []).ToDictionary(d => d.HostId, StringComparer.Ordinal);
        var chosen = request.Hosts ?? drifted.Keys.ToList();
        var notReapplied = new List<string>();
        var services = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var host in chosen)
        {
            if (!drifted.TryGetValue(host, out var hostDrift))
            {
                notReapplied.Add($"host {host}: no drift in the last scan");
                continue;
            }

            foreach (var field in hostDrift.Fields)
            {
                var parts = field.Field.Split('.');
                if (parts[0] == "services" && declared.Declaration.Baseline.Services.ContainsKey(parts[1])) services.Add(parts[1]);
                else if (parts[0] == "services") notReapplied.Add($"host {host}: service '{parts[1]}' is not declared; a rollout cannot remove it (accept it or remove it on the host)");
                else notReapplied.Add($"host {host}: {field.Field} is '{field.Actual ?? "(none)"}', declared '{field.Expected ?? "(none)"}'; a rollout cannot change runtime facts (fix the host image or accept)");
            }
        }

        var environment = await grains.Ref<IEnvironmentGrain>(name).Get();
        var rollouts = new List<string>();
        foreach (var service in services)
        {
            var version = declared.Declaration.Baseline.Services[service].Version;
            var deployed = environment?.Services.GetValueOrDefault(service);
            if (deployed is null || deployed.Version != version
                || await grains.Ref<IReleaseGrain>(deployed.ReleaseId).Get() is not { } original)
            {
                notReapplied.Add($"service {service}: no release carrying the declared version {version} is recorded as deployed in '{name}'" +
                    (deployed is null ? string.Empty : $" (last deployed: {deployed.Version}, {deployed.ReleaseId})") + "; roll out a release of that version");
                continue;
            }

            var releaseId = "rel-" + Guid.NewGuid().ToString("n")[..16];
            var metadata = new Dictionary<string, string>(original.Metadata, StringComparer.Ordinal)
            {
                [EnvironmentMetadataKeys.Reconciles] = original.Id,
            };
            var release = await grains.Ref<IReleaseGrain>(releaseId).Create(new ReleaseDraft
            {
                Service = original.Service,
                Version = original.Version,
                Artifact = original.Artifact,
                Commit = original.Commit,
                Metadata = metadata,
                SubmittedBy = actor.Name,
                ReconcileOf = original.Id,
            });
            var rolloutId = GrainKeys.Rollout(releaseId, name);
            var started = release.Ok
                ? await grains.Ref<IRolloutGrain>(rolloutId).Start(new RolloutDraft
                {
                    ReleaseId = releaseId,
                    Environment = name,
                    Strategy = new RolloutStrategySpec(),
                    SubmittedBy = actor.Name,
                })
                : CommandResult<RolloutSnapshot>.Fail(release.Error, release.Detail ?? "the release could not be created");
            if (started.Ok) rollouts.Add(rolloutId);
            else notReapplied.Add($"service {service}: the rollout of {version} was refused: {started.Detail}");
        }

        var outcome = new ReconcileOutcome
        {
            Environment = name,
            Mode = ReconcileMode.Reapply,
            Hosts = chosen.ToList(),
            Rollouts = rollouts,
            NotReapplied = notReapplied,
            DeclarationVersion = declared.Version,
        };
        if (rollouts.Count == 0 && notReapplied.Count > 0)
        {
            return TypedResults.Problem("Nothing could be re-applied: " + string.Join("; ", notReapplied), statusCode: 422,
                title: "Refused by policy", type: Problems.PolicyType);
        }

        await declarations.RecordReapplied(outcome, actor);
        return TypedResults.Ok(outcome);
    }

    /// <summary>An agent reports what its host actually runs; the drift scan compares it with the declared baseline.</summary>
    public static async Task<Results<Ok<HostFactsReport>, ValidationProblem, ProblemHttpResult>> ReportFacts(
        string id, HostFactsRequest request, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (request.Services is { Count: > DeclarationParser.MaxItems }) errors.Add("services", $"at most {DeclarationParser.MaxItems} services");
        foreach (var (service, facts) in request.Services ?? [])
        {
            var at = "services." + service;
            if (!Names.IsDnsLabel(service)) errors.Add(at, "service names are lower-case DNS labels");
            if (facts is null) { errors.Add(at, "must be an object {version, artifact, configHash}"); continue; }
            if (facts.Version is not null && !Names.IsVersion(facts.Version)) errors.Add(at + ".version", "must be a version");
            if (facts.Artifact is not null && !ArtifactDigest.IsValid(facts.Artifact)) errors.Add(at + ".artifact", "must be 'sha256:' followed by 64 lower-case hex digits");
            if (facts.ConfigHash is not null && !ArtifactDigest.IsValid(facts.ConfigHash)) errors.Add(at + ".configHash", "must be 'sha256:' followed by 64 lower-case hex digits");
        }

        if (request.Runtime is { Count: > DeclarationParser.MaxItems }) errors.Add("runtime", $"at most {DeclarationParser.MaxItems} runtime facts");
        foreach (var (key, value) in request.Runtime ?? [])
        {
            if (!Names.IsLabel(key, "x") || value is null || value.Length is 0 or > 256)
                errors.Add("runtime." + key, "names: up to 63 letters, digits, '.', '-', '_'; values 1-256 characters");
        }

        if (errors.Any) return Problems.Validation(errors.ToDictionary());
        if (await HostsApi.SpeakFor(id, http, user, grains) is { } refused) return refused;

        var report = new HostFactsReport
        {
            Services = (request.Services ?? []).ToDictionary(s => s.Key, s => new ServiceFactsReport
            {
                Version = s.Value.Version,
                Artifact = s.Value.Artifact,
                ConfigHash = s.Value.ConfigHash,
            }, StringComparer.Ordinal),
            Runtime = new Dictionary<string, string>(request.Runtime ?? [], StringComparer.Ordinal),
            ReportedBy = user.Caller(),
        };
        var stored = grains.Ref<IHostFactsGrain>(id);
        await stored.Report(report);
        return TypedResults.Ok((await stored.Get())!);
    }

    public static async Task<Results<Ok<HostFactsReport>, ProblemHttpResult>> GetFacts(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IHostFactsGrain>(id).Get() is { } facts
            ? TypedResults.Ok(facts)
            : Problems.NotFound($"host '{id}' has reported no facts");

    /// <summary>The pipeline records a gate result (performance test, security scan) against a release for an environment.</summary>
    public static async Task<Results<Ok<IReadOnlyList<GateResult>>, ValidationProblem, ProblemHttpResult>> RecordGate(
        string id, GateResultRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new ValidationErrors();
        if (!Names.IsDnsLabel(request.Environment)) errors.Add("environment", "is required: the environment the gate ran for");
        if (!Names.IsDnsLabel(request.Gate)) errors.Add("gate", "is required: a gate name such as 'security-scan'");
        var status = request.Status?.ToLowerInvariant() switch
        {
            "passed" => GateStatus.Passed,
            "failed" => (GateStatus?)GateStatus.Failed,
            _ => null,
        };
        if (status is null) errors.Add("status", "is required: passed or failed");
        if (request.Url is not null && (request.Url.Length > 2048 || !Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            errors.Add("url", "must be an absolute http(s) URL of at most 2048 characters");
        if (request.Details is { Length: > 2000 }) errors.Add("details", "must be at most 2000 characters");
        if (errors.Any) return Problems.Validation(errors.ToDictionary());

        if (!user.IsInRole(Roles.Pipeline))
            return TypedResults.Problem("Gate results are recorded by the pipeline role.", statusCode: 403, title: "Forbidden", type: Problems.ForbiddenType);
        if (!Names.IsHostId(id) || await grains.Ref<IReleaseGrain>(id).Get() is null) return Problems.NotFound($"release '{id}' does not exist");
        if (await grains.Ref<IEnvironmentGrain>(request.Environment!).Get() is null) return Problems.NotFound($"environment '{request.Environment}' does not exist");

        var results = await grains.Ref<IReleaseGatesGrain>(id).Record(new GateResult
        {
            Environment = request.Environment!,
            Gate = request.Gate!,
            Status = status!.Value,
            Url = request.Url,
            Details = request.Details,
        }, Actor(user));
        return TypedResults.Ok(results);
    }

    public static async Task<Results<Ok<IReadOnlyList<GateResult>>, ProblemHttpResult>> ListGates(string id, IGrainFactory grains) =>
        Names.IsHostId(id) && await grains.Ref<IReleaseGrain>(id).Get() is not null
            ? TypedResults.Ok(await grains.Ref<IReleaseGatesGrain>(id).List())
            : Problems.NotFound($"release '{id}' does not exist");

    /// <summary>403: a production-tier environment changes only through the pipeline role.</summary>
    public static ProblemHttpResult ProductionNeedsPipeline(string environment) => TypedResults.Problem(
        $"environment '{environment}' is production tier: rollouts into it are submitted only by the pipeline role",
        statusCode: 403, title: "Forbidden", type: Problems.ForbiddenType);

    /// <summary>True when <paramref name="environment"/> is declared production tier.</summary>
    public static async Task<bool> IsProduction(IGrainFactory grains, string environment) =>
        await grains.Ref<IEnvironmentDeclarationGrain>(environment).Get() is { Declaration.Tier: EnvironmentTier.Production };

    private static Actor Actor(ClaimsPrincipal user, string? reason = null) => new()
    {
        Name = user.Caller(),
        Roles = string.Join(",", user.FindAll(ClaimTypes.Role).Select(c => c.Value)),
        Reason = reason,
    };

    /// <summary>Every declared environment's <c>after</c>, for checking a new declaration's promotion order.</summary>
    private static async Task<Dictionary<string, string?>> Declared(IGrainFactory grains, string? except = null)
    {
        var names = await grains.Ref<IEnvironmentRegistryGrain>(GrainKeys.EnvironmentRegistry).List();
        var declared = await Task.WhenAll(names.Where(n => n != except).Select(n => grains.Ref<IEnvironmentDeclarationGrain>(n).Get()));
        return declared.OfType<EnvironmentDeclarationSnapshot>()
            .Where(d => d.TornDownAt is null)
            .ToDictionary(d => d.Declaration.Name, d => d.Declaration.After, StringComparer.Ordinal);
    }

    private static async Task<(JsonElement? Document, string? Error)> ReadDocument(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        if (string.IsNullOrWhiteSpace(text)) return (null, "the request body is empty: send the declaration as JSON or YAML (Content-Type: application/yaml)");
        return DeclarationDocuments.Read(text, DeclarationDocuments.IsYaml(request.ContentType));
    }
}
