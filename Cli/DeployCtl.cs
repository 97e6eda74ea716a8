using System.CommandLine;
using System.Text.Json.Nodes;

namespace Deploy.Engine.Cli;

/// <summary>
/// <c>deployctl</c>: the command tree. Every command takes <c>--output table|json</c>, <c>--url</c>, <c>--api-key</c>
/// and <c>--profile</c>; a refusal prints the engine's ProblemDetails title and detail (never a stack trace) and exits
/// with <see cref="ExitCodes.Refused"/>.
/// </summary>
public static class DeployCtl
{
    private static readonly Option<string> OutputOption = new("--output", "-o")
    {
        Description = "table (default) or json", Recursive = true, DefaultValueFactory = _ => "table",
    };

    private static readonly Option<string?> UrlOption = new("--url") { Description = "the engine's URL (else DEPLOY_URL, else the profile)", Recursive = true };
    private static readonly Option<string?> KeyOption = new("--api-key") { Description = "the API key (else DEPLOY_API_KEY, else the profile)", Recursive = true };
    private static readonly Option<string?> ProfileOption = new("--profile") { Description = "a profile file (default ~/.config/deployctl/profile.json)", Recursive = true };

    public static async Task<int> RunAsync(string[] args, CliHost host, CancellationToken cancellation = default)
    {
        OutputOption.AcceptOnlyFromAmong("table", "json");
        var root = new RootCommand("deployctl: releases, rollouts and their progress on a Deploy.Engine")
        {
            Options = { OutputOption, UrlOption, KeyOption, ProfileOption },
        };
        root.Subcommands.Add(ReleaseCommand(host));
        root.Subcommands.Add(RolloutCommand(host));
        root.Subcommands.Add(ApproveCommand(host));
        root.Subcommands.Add(HostsCommand(host));
        root.Subcommands.Add(PlanCommand(host));
        root.Subcommands.Add(AnalysisCommand(host));
        root.Subcommands.Add(AuditCommand(host));
        root.Subcommands.Add(WebhooksCommand(host));
        root.Subcommands.Add(OtlpCommand(host));
        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = host.Out, Error = host.Error, EnableDefaultExceptionHandler = false }, cancellation);
    }

    /// <summary>Runs one command's body with the connection resolved, turning every failure into a message and an exit code.</summary>
    private static void Handle(Command command, CliHost host, Func<ParseResult, EngineClient, Output, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellation) =>
        {
            var output = new Output(host, parse.GetValue(OutputOption) == "json");
            try
            {
                var connection = Profile.Resolve(parse.GetValue(UrlOption), parse.GetValue(KeyOption), parse.GetValue(ProfileOption), host.Environment);
                using var engine = new EngineClient(connection, host.Handler);
                return await body(parse, engine, output, cancellation);
            }
            catch (CliProblemException problem)
            {
                Report(host, output, problem);
                return problem.ExitCode;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                host.Error.WriteLine("error: cancelled");
                return 130;
            }
            catch (Exception ex)
            {
                // Whatever it was, a person gets one line, not a stack trace.
                host.Error.WriteLine($"error: {ex.GetType().Name}: {ex.Message}");
                return ExitCodes.Unreachable;
            }
        });

    private static void Report(CliHost host, Output output, CliProblemException problem)
    {
        var status = problem.Status is { } s ? $" ({s})" : "";
        host.Error.WriteLine(problem.Detail is null ? $"error: {problem.Title}{status}" : $"error: {problem.Title}{status}: {problem.Detail}");
        foreach (var (field, messages) in problem.Errors ?? new Dictionary<string, string[]>())
        {
            host.Error.WriteLine($"  {field}: {string.Join("; ", messages)}");
        }

        if (output.Json)
        {
            output.Document(problem.Body is { } body ? JsonNode.Parse(body)! : new JsonObject { ["title"] = problem.Title, ["detail"] = problem.Detail });
        }
    }

    private static Command WebhooksCommand(CliHost host)
    {
        var port = new Option<int>("--port", "-p") { Description = "the loopback port to listen on", DefaultValueFactory = _ => 9099 };
        var secret = new Option<string?>("--secret") { Description = "the subscription's whsec_… secret, to verify each delivery's signature" };
        var subscribe = new Option<bool>("--subscribe") { Description = "subscribe this receiver through the API (needs Webhooks__AllowLoopback=true on the engine); deleted on exit" };
        var environments = new Option<string[]>("--environment", "-e") { Description = "with --subscribe: only events about these environments (repeatable)" };
        var types = new Option<string[]>("--type", "-t") { Description = "with --subscribe: only these event types or prefixes ending in * (repeatable)" };
        var listen = new Command("listen", "a local webhook receiver: prints each delivered CloudEvent and whether its signature verifies (Ctrl-C stops)")
        {
            port, secret, subscribe, environments, types,
        };
        listen.SetAction(async (p, cancellation) =>
        {
            var output = new Output(host, p.GetValue(OutputOption) == "json");
            try
            {
                if (!p.GetValue(subscribe))
                {
                    return await WebhookListener.Run(null, output, p.GetValue(port), p.GetValue(secret), [], [], cancellation);
                }

                var connection = Profile.Resolve(p.GetValue(UrlOption), p.GetValue(KeyOption), p.GetValue(ProfileOption), host.Environment);
                using var engine = new EngineClient(connection, host.Handler);
                return await WebhookListener.Run(engine, output, p.GetValue(port), null, p.GetValue(environments) ?? [], p.GetValue(types) ?? [], cancellation);
            }
            catch (CliProblemException problem)
            {
                Report(host, output, problem);
                return problem.ExitCode;
            }
            catch (System.Net.HttpListenerException ex)
            {
                host.Error.WriteLine($"error: cannot listen on 127.0.0.1:{p.GetValue(port)}: {ex.Message}");
                return ExitCodes.Usage;
            }
        });
        return new Command("webhooks", "webhook subscriptions: a local receiver to try them") { listen };
    }

    private static Command OtlpCommand(CliHost host)
    {
        var port = new Option<int>("--port", "-p") { Description = "the loopback port (4318 is OTLP/HTTP's)", DefaultValueFactory = _ => 4318 };
        var all = new Option<bool>("--all") { Description = "print every span, not only the engine's (deploy.* attributes or span events)" };
        var listen = new Command("listen", "a local OTLP/HTTP protobuf receiver: prints the engine's spans (Ctrl-C stops)") { port, all };
        listen.SetAction(async (p, cancellation) =>
        {
            var output = new Output(host, p.GetValue(OutputOption) == "json");
            try
            {
                return await OtlpListener.Run(output, p.GetValue(port), p.GetValue(all), cancellation);
            }
            catch (System.Net.HttpListenerException ex)
            {
                host.Error.WriteLine($"error: cannot listen on 127.0.0.1:{p.GetValue(port)}: {ex.Message}");
                return ExitCodes.Usage;
            }
        });
        return new Command("otlp", "OpenTelemetry: a local receiver to see the engine's traces") { listen };
    }

    private static Command ReleaseCommand(CliHost host)
    {
        var service = new Option<string>("--service") { Required = true, Description = "the service (a DNS label)" };
        var version = new Option<string>("--version") { Required = true };
        var artifact = new Option<string>("--artifact") { Required = true, Description = "the artifact digest, sha256:…" };
        var commit = new Option<string?>("--commit");
        var releaseClass = new Option<string?>("--class") { Description = "standard, emergency or major" };
        var idempotency = new Option<string?>("--idempotency-key") { Description = "makes a retried create return the same release" };
        var create = new Command("create", "submit a release") { service, version, artifact, commit, releaseClass, idempotency };
        Handle(create, host, async (p, engine, output, ct) =>
        {
            var body = new JsonObject
            {
                ["service"] = p.GetValue(service), ["version"] = p.GetValue(version), ["artifact"] = p.GetValue(artifact),
            };
            if (p.GetValue(commit) is { } c) body["commit"] = c;
            if (p.GetValue(releaseClass) is { } k) body["class"] = k;
            var created = await engine.Post("/v1/releases", body, ct, p.GetValue(idempotency));
            if (output.Json) output.Document(created);
            else output.Fields(created, "id", "service", "version", "artifact", "commit", "class", "submittedBy", "createdAt");
            return ExitCodes.Ok;
        });

        var list = new Command("list", "list releases, newest first");
        var listService = new Option<string?>("--service");
        var listVersion = new Option<string?>("--version");
        var since = new Option<string?>("--since") { Description = "created at or after (ISO-8601)" };
        var limit = new Option<int?>("--limit");
        var cursor = new Option<string?>("--cursor") { Description = "the 'next' of the previous page" };
        list.Options.Add(listService);
        list.Options.Add(listVersion);
        list.Options.Add(since);
        list.Options.Add(limit);
        list.Options.Add(cursor);
        Handle(list, host, async (p, engine, output, ct) =>
        {
            var page = await engine.Get("/v1/releases" + Query(("service", p.GetValue(listService)), ("version", p.GetValue(listVersion)),
                ("since", p.GetValue(since)), ("limit", p.GetValue(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", p.GetValue(cursor))), ct);
            Page(output, page, "id", "service", "version", "class", "submittedBy", "createdAt");
            return ExitCodes.Ok;
        });

        return new Command("release", "releases") { create, list };
    }

    private static Command RolloutCommand(CliHost host)
    {
        var rollout = new Command("rollout", "rollouts: start, watch, act on, list");

        var release = new Option<string>("--release") { Required = true, Description = "the release id" };
        var environment = new Option<string>("--environment", "-e") { Required = true };
        var strategy = new Option<FileInfo?>("--strategy", "-f") { Description = "the strategy, a YAML or JSON file (default: rolling)" };
        var selector = new Option<string[]>("--selector") { Description = "key=value labels the targets must have (repeatable)", AllowMultipleArgumentsPerToken = false };
        var start = new Command("start", "roll a release out to an environment") { release, environment, strategy, selector };
        Handle(start, host, async (p, engine, output, ct) =>
        {
            var body = new JsonObject { ["releaseId"] = p.GetValue(release), ["environment"] = p.GetValue(environment) };
            if (p.GetValue(strategy) is { } file) body["strategy"] = StrategyFile.Read(file.FullName);
            if (p.GetValue(selector) is { Length: > 0 } labels)
            {
                var map = new JsonObject();
                foreach (var label in labels)
                {
                    var eq = label.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) throw new CliProblemException(ExitCodes.Usage, "Invalid selector", $"'{label}' must be key=value");
                    map[label[..eq]] = label[(eq + 1)..];
                }

                body["selector"] = map;
            }

            var created = await engine.Post("/v1/rollouts", body, ct);
            if (output.Json) output.Document(created);
            else output.Fields(created, "id", "status", "statusReason", "environment", "service", "version", "batches");
            return ExitCodes.Ok;
        });
        rollout.Subcommands.Add(start);

        var id = new Argument<string>("rollout") { Description = "the rollout id ({releaseId}.{environment})" };
        var interval = new Option<double>("--interval") { Description = "seconds between polls when polling", DefaultValueFactory = _ => 2 };
        var timeout = new Option<double?>("--timeout") { Description = $"give up after this many seconds (exit {ExitCodes.WatchTimedOut})" };
        var noStream = new Option<bool>("--no-stream") { Description = "poll instead of following the event stream" };
        var watch = new Command("watch",
            $"follow a rollout until it ends; exit {ExitCodes.Ok} Succeeded, {ExitCodes.RolledBack} RolledBack, {ExitCodes.Aborted} Aborted, {ExitCodes.Failed} Failed")
        {
            id, interval, timeout, noStream,
        };
        Handle(watch, host, async (p, engine, output, ct) =>
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (p.GetValue(timeout) is { } seconds) limit.CancelAfter(TimeSpan.FromSeconds(seconds));
            try
            {
                return await new Watch(engine, output, p.GetValue(id)!, TimeSpan.FromSeconds(Math.Max(0.1, p.GetValue(interval))), !p.GetValue(noStream)).Run(limit.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or CliProblemException { ExitCode: ExitCodes.Unreachable } && limit.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                host.Error.WriteLine($"error: rollout {p.GetValue(id)} had not ended after {p.GetValue(timeout)} s");
                return ExitCodes.WatchTimedOut;
            }
        });
        rollout.Subcommands.Add(watch);

        foreach (var action in new[] { "promote", "pause", "resume", "abort", "rollback" })
        {
            var target = new Argument<string>("rollout");
            var reason = new Option<string?>("--reason", "-r") { Description = "why (recorded with your key's name in the audit trail)" };
            var command = new Command(action, $"{action} a rollout") { target, reason };
            Handle(command, host, async (p, engine, output, ct) =>
            {
                var body = new JsonObject();
                if (p.GetValue(reason) is { } r) body["reason"] = r;
                var after = await engine.Post($"/v1/rollouts/{Uri.EscapeDataString(p.GetValue(target)!)}/{action}", body, ct);
                if (output.Json) output.Document(after);
                else output.Fields(after, "id", "status", "statusReason", "currentStep");
                return ExitCodes.Ok;
            });
            rollout.Subcommands.Add(command);
        }

        var status = new Option<string?>("--status") { Description = "statuses, comma-separated (e.g. Progressing,Paused)" };
        var listEnvironment = new Option<string?>("--environment", "-e");
        var service = new Option<string?>("--service");
        var listRelease = new Option<string?>("--release");
        var since = new Option<string?>("--since") { Description = "created at or after (ISO-8601)" };
        var limitOption = new Option<int?>("--limit");
        var cursor = new Option<string?>("--cursor") { Description = "the 'next' of the previous page" };
        var list = new Command("list", "list rollouts, newest first") { status, listEnvironment, service, listRelease, since, limitOption, cursor };
        Handle(list, host, async (p, engine, output, ct) =>
        {
            var page = await engine.Get("/v1/rollouts" + Query(("status", p.GetValue(status)), ("environment", p.GetValue(listEnvironment)),
                ("service", p.GetValue(service)), ("release", p.GetValue(listRelease)), ("since", p.GetValue(since)),
                ("limit", p.GetValue(limitOption)?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", p.GetValue(cursor))), ct);
            Page(output, page, "id", "status", "environment", "service", "version", "createdAt", "updatedAt");
            return ExitCodes.Ok;
        });
        rollout.Subcommands.Add(list);

        var getId = new Argument<string>("rollout");
        var get = new Command("get", "show a rollout") { getId };
        Handle(get, host, async (p, engine, output, ct) =>
        {
            var snapshot = await engine.Get("/v1/rollouts/" + Uri.EscapeDataString(p.GetValue(getId)!), ct);
            if (output.Json) output.Document(snapshot);
            else
            {
                output.Fields(snapshot, "id", "status", "statusReason", "environment", "service", "version", "currentStep", "trafficWeight", "hosts");
                if (snapshot["steps"] is JsonArray steps) output.Rows(steps, "kind", "stage", "description", "hosts", "state");
            }

            return ExitCodes.Ok;
        });
        rollout.Subcommands.Add(get);
        return rollout;
    }

    private static Command ApproveCommand(CliHost host)
    {
        var release = new Argument<string>("release") { Description = "the release id" };
        var environment = new Option<string>("--environment", "-e") { Required = true, Description = "the environment the approval is for" };
        var reject = new Option<bool>("--reject") { Description = "reject instead of approve (needs --reason)" };
        var reason = new Option<string?>("--reason", "-r");
        var approve = new Command("approve", "approve (or --reject) a release for an environment") { release, environment, reject, reason };
        Handle(approve, host, async (p, engine, output, ct) =>
        {
            var body = new JsonObject { ["environment"] = p.GetValue(environment), ["decision"] = p.GetValue(reject) ? "reject" : "approve" };
            if (p.GetValue(reason) is { } r) body["reason"] = r;
            var view = await engine.Post($"/v1/releases/{Uri.EscapeDataString(p.GetValue(release)!)}/approvals", body, ct);
            if (output.Json) output.Document(view);
            else output.Say($"{(p.GetValue(reject) ? "rejected" : "approved")} {p.GetValue(release)} for {p.GetValue(environment)}");
            return ExitCodes.Ok;
        });
        return approve;
    }

    private static Command HostsCommand(CliHost host)
    {
        var environment = new Option<string>("--environment", "-e") { Required = true };
        var version = new Option<string?>("--version");
        var service = new Option<string?>("--service");
        var state = new Option<string?>("--state");
        var label = new Option<string[]>("--label") { Description = "key=value (repeatable)" };
        var offset = new Option<int?>("--offset");
        var limit = new Option<int?>("--limit");
        var list = new Command("list", "list an environment's hosts") { environment, version, service, state, label, offset, limit };
        Handle(list, host, async (p, engine, output, ct) =>
        {
            var labels = (p.GetValue(label) ?? []).Select(l => ("label", (string?)l)).ToArray();
            var page = await engine.Get("/v1/hosts" + Query([("environment", p.GetValue(environment)), ("version", p.GetValue(version)),
                ("service", p.GetValue(service)), ("state", p.GetValue(state)), .. labels,
                ("offset", p.GetValue(offset)?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("limit", p.GetValue(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture))]), ct);
            if (output.Json) output.Document(page);
            else
            {
                output.Rows(page["items"] as JsonArray ?? [], "id", "state", "currentVersion", "currentArtifact", "labels");
                output.Say($"{(page["items"] as JsonArray)?.Count ?? 0} of {(int?)page["total"] ?? 0} hosts");
            }

            return ExitCodes.Ok;
        });
        return new Command("hosts", "hosts") { list };
    }

    private static Command PlanCommand(CliHost host)
    {
        var strategy = new Option<FileInfo?>("--strategy", "-f") { Description = "the strategy, a YAML or JSON file (default: rolling)" };
        var hostCount = new Option<int?>("--hosts") { Description = "plan for this many hosts" };
        var environment = new Option<string?>("--environment", "-e") { Description = "plan for this environment's hosts now" };
        var preview = new Command("preview", "the plan a strategy would make (nothing changes)") { strategy, hostCount, environment };
        Handle(preview, host, async (p, engine, output, ct) =>
        {
            var body = new JsonObject();
            if (p.GetValue(strategy) is { } file) body["strategy"] = StrategyFile.Read(file.FullName);
            if (p.GetValue(hostCount) is { } n) body["hostCount"] = n;
            if (p.GetValue(environment) is { } e) body["environment"] = e;
            var plan = await engine.Post("/v1/rollouts/preview", body, ct);
            if (output.Json) output.Document(plan);
            else
            {
                output.Fields(plan, "strategy", "hostCount", "feasible", "infeasible", "batches", "explanation");
                output.Rows(plan["steps"] as JsonArray ?? [], "kind", "stage", "description", "hosts");
            }

            return ExitCodes.Ok;
        });
        return new Command("plan", "plans") { preview };
    }

    private static Command AnalysisCommand(CliHost host)
    {
        var id = new Argument<string>("analysis") { Description = "the analysis id ({rolloutId}.analysis-{step})" };
        var show = new Command("show", "a canary analysis: per-metric classification, score, verdict") { id };
        Handle(show, host, async (p, engine, output, ct) =>
        {
            var analysis = await engine.Get("/v1/analyses/" + Uri.EscapeDataString(p.GetValue(id)!), ct);
            if (output.Json) output.Document(analysis);
            else
            {
                output.Fields(analysis, "id", "rolloutId", "step", "status", "canaryVersion", "baselineVersion", "startedAt", "concludedAt");
                if (analysis["verdict"] is JsonObject verdict)
                {
                    output.Fields(verdict, "outcome", "score", "reason");
                    if (verdict["metrics"] is JsonArray metrics) output.Rows(metrics, "name", "classification", "estimate", "lower", "upper", "pValue", "effectSize", "reason");
                }
            }

            return ExitCodes.Ok;
        });
        return new Command("analysis", "canary analyses") { show };
    }

    private static Command AuditCommand(CliHost host)
    {
        var verify = new Command("verify", $"recompute the audit trail's hash chain (exit {ExitCodes.AuditBroken} when broken)");
        Handle(verify, host, async (p, engine, output, ct) =>
        {
            var result = await engine.Get("/v1/audit/verify", ct);
            if (output.Json) output.Document(result);
            else output.Fields(result, "valid", "entries", "brokenAt", "reason", "headHash");
            return (bool?)result["valid"] == true ? ExitCodes.Ok : ExitCodes.AuditBroken;
        });
        return new Command("audit", "the audit trail") { verify };
    }

    private static void Page(Output output, JsonNode page, params string[] columns)
    {
        if (output.Json)
        {
            output.Document(page);
            return;
        }

        output.Rows(page["items"] as JsonArray ?? [], columns);
        if ((string?)page["next"] is { } next) output.Say($"more: --cursor {next}");
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? string.Empty : "?" + string.Join('&', present);
    }
}
