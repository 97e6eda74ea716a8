extern alias cli;

using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using static Deploy.Engine.Cli.Tests.CliEngine;

namespace Deploy.Engine.Cli.Tests;

/// <summary>deployctl against a real engine over real HTTP.</summary>
[Collection(CliEngineCollection.Name)]
public sealed class DeployCtlTests(CliEngine engine) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deployctl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> Environment(int hosts, object? failureProbability = null, int latencyMs = 20)
    {
        var name = TestHttp.Unique("env");
        using var op = engine.As(OperatorKey);
        await op.PutJson($"/v1/environments/{name}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        await op.PostJson($"/v1/environments/{name}/simulated-hosts", new
        {
            count = hosts, stepLatencyMs = latencyMs, failureProbability, currentArtifact = TestHttp.Digest("1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        return name;
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static int? ExitCodesOf(JsonNode record) => cli::Deploy.Engine.Cli.ExitCodes.ForStatus((string?)record["status"]);

    private static JsonNode Json(CliRun run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Error}");
        return JsonNode.Parse(run.Out)!;
    }

    /// <summary>A release and a rollout of it, both created with deployctl.</summary>
    private async Task<string> Start(string env, string version, string strategyYaml)
    {
        var release = Json(await engine.Run(PipelineKey, "release", "create", "--service", "shop", "--version", version,
            "--artifact", TestHttp.Digest(version), "--commit", "4f2a9c1", "--output", "json"));
        var strategy = File($"strategy-{version}.yaml", strategyYaml);
        var rollout = Json(await engine.Run(PipelineKey, "rollout", "start", "--release", (string)release["id"]!, "-e", env, "-f", strategy, "-o", "json"));
        return (string)rollout["id"]!;
    }

    [Fact]
    public async Task Watch_follows_a_rollout_step_by_step_and_exits_0_when_it_succeeds()
    {
        var env = await Environment(8, latencyMs: 400);
        var id = await Start(env, "2.0.0", "type: rolling\nmaxSurge: 0\nmaxUnavailable: 25%\n");

        var watched = await engine.Run(ViewerKey, "rollout", "watch", id, "--timeout", "90");

        Assert.True(watched.ExitCode == 0, watched.Error);
        var lines = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Succeeded", lines[^1], StringComparison.Ordinal);
        Assert.Contains("updated 8", lines[^1], StringComparison.Ordinal);
        Assert.True(lines.Length >= 3, "expected progress lines before the end:\n" + watched.Out);
        Assert.Contains(lines, l => l.Contains("step ", StringComparison.Ordinal) && l.Contains("Deploy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watch_by_polling_exits_10_when_the_rollout_rolls_back_and_prints_json_lines()
    {
        var env = await Environment(10, new Dictionary<string, double> { ["6.6.6"] = 0.9 }, latencyMs: 300);
        var id = await Start(env, "6.6.6", """{"preset": "OneAtATime"}""");

        var watched = await engine.Run(ViewerKey, "rollout", "watch", id, "--no-stream", "--interval", "0.2", "--timeout", "90", "-o", "json");

        Assert.True(watched.ExitCode == 10, $"exit {watched.ExitCode}: {watched.Error}");
        var records = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal("RolledBack", (string?)records[^1]["status"]);
        Assert.All(records, r => Assert.Equal(id, (string?)r["id"]));
        Assert.True(records.Count >= 2 && ExitCodesOf(records[0]) is null, "expected progress before the end:\n" + watched.Out);
    }

    [Fact]
    public async Task The_built_deployctl_gates_a_shell_pipeline_on_the_rollouts_outcome()
    {
        var good = await Start(await Environment(4), "3.0.0", "preset: AllAtOnce\n");
        var bad = await Start(await Environment(6, new Dictionary<string, double> { ["3.6.6"] = 0.95 }), "3.6.6", "preset: OneAtATime\n");
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        var dll = Path.Combine(AppContext.BaseDirectory, "Deploy.Engine.Cli.dll");
        Assert.True(System.IO.File.Exists(dll), dll);
        var wrapper = File("bin/deployctl", $"#!/bin/sh\nexec dotnet '{dll}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) System.IO.File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var script = $"deployctl rollout watch {good} --timeout 90 > /dev/null && echo gated-good || echo blocked-good $?; "
            + $"deployctl rollout watch {bad} --timeout 90 > /dev/null && echo gated-bad || echo blocked-bad $?";
        var start = new ProcessStartInfo("/bin/sh", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PATH"] = bin + ":" + System.Environment.GetEnvironmentVariable("PATH");
        start.Environment["DEPLOY_URL"] = engine.Url;
        start.Environment["DEPLOY_API_KEY"] = ViewerKey;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var shell = Process.Start(start)!;
        var stdout = shell.StandardOutput.ReadToEndAsync();
        var stderr = shell.StandardError.ReadToEndAsync();
        Assert.True(shell.WaitForExit(TimeSpan.FromSeconds(180)), "the pipeline did not finish");

        Assert.Equal("gated-good\nblocked-bad 10\n", await stdout);
        Assert.DoesNotContain("   at ", await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_403_prints_the_problems_title_and_detail_without_a_stack_trace()
    {
        var refused = await engine.Run(ViewerKey, "rollout", "abort", "rel-x.nowhere", "--reason", "stop it");

        Assert.Equal(3, refused.ExitCode);
        Assert.Equal("error: Forbidden (403): This API key's roles do not allow this operation.", refused.Error.Trim());
        Assert.Empty(refused.Out);
    }

    [Fact]
    public async Task A_400_prints_title_detail_and_each_field_and_json_mode_prints_the_problem()
    {
        var refused = await engine.Run(PipelineKey, "release", "create", "--service", "Not_A_Name", "--version", "1.0.0", "--artifact", "md5:abc", "-o", "json");

        Assert.Equal(3, refused.ExitCode);
        Assert.StartsWith("error: Validation failed (400): ", refused.Error, StringComparison.Ordinal);
        Assert.Contains("  service: ", refused.Error, StringComparison.Ordinal);
        Assert.Contains("  artifact: ", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Error, StringComparison.Ordinal);
        Assert.Equal("urn:deploy-engine:problem:validation", (string?)JsonNode.Parse(refused.Out)!["type"]);
    }

    [Fact]
    public async Task Lists_plans_hosts_and_the_audit_answer_json_with_output_json()
    {
        var env = await Environment(5);
        var id = await Start(env, "4.0.0", "preset: AllAtOnce\n");
        Assert.Equal(0, (await engine.Run(ViewerKey, "rollout", "watch", id, "--timeout", "90")).ExitCode);

        var rollouts = Json(await engine.WaitForCli(ViewerKey, r => r.Out.Contains(id, StringComparison.Ordinal), "rollout", "list", "-e", env, "--status", "Succeeded", "-o", "json"));
        Assert.Equal(id, (string?)rollouts["items"]![0]!["id"]);
        var releases = Json(await engine.Run(ViewerKey, "release", "list", "--service", "shop", "--version", "4.0.0", "-o", "json"));
        Assert.NotEmpty(releases["items"]!.AsArray());
        var hosts = Json(await engine.Run(ViewerKey, "hosts", "list", "-e", env, "--version", "4.0.0", "-o", "json"));
        Assert.Equal(5, (int)hosts["total"]!);
        var plan = Json(await engine.Run(ViewerKey, "plan", "preview", "--hosts", "10", "-f", File("p.json", """{"maxSurge":"0","maxUnavailable":"20%"}"""), "-o", "json"));
        Assert.Equal([2, 2, 2, 2, 2], plan["batches"]!.AsArray().Select(b => (int)b!));
        var audit = Json(await engine.Run(ViewerKey, "audit", "verify", "-o", "json"));
        Assert.True((bool)audit["valid"]!);

        var table = await engine.Run(ViewerKey, "hosts", "list", "-e", env, "--version", "4.0.0");
        Assert.Contains("5 of 5 hosts", table.Out, StringComparison.Ordinal);
        var missing = await engine.Run(ViewerKey, "analysis", "show", id + ".analysis-1");
        Assert.Equal(3, missing.ExitCode);
        Assert.StartsWith("error: Not found (404)", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approve_records_the_approvers_decision_and_a_rejection_needs_a_reason()
    {
        var env = await Environment(1);
        var release = (string)Json(await engine.Run(PipelineKey, "release", "create", "--service", "shop", "--version", "5.0.0", "--artifact", TestHttp.Digest("5.0.0"), "-o", "json"))["id"]!;

        var approved = await engine.Run(ApproverKey, "approve", release, "-e", env, "--reason", "looks good");
        Assert.True(approved.ExitCode == 0, approved.Error);
        Assert.Equal($"approved {release} for {env}", approved.Out.Trim());

        var refused = await engine.Run(ApproverKey, "approve", release, "-e", env, "--reject");
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("reason: a rejection needs a reason", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_connection_comes_from_a_profile_file_and_its_absence_is_explained()
    {
        var profile = File("profile.json", $$"""{"url": "{{engine.Url}}", "apiKey": "{{ViewerKey}}"}""");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await cli::Deploy.Engine.Cli.DeployCtl.RunAsync(["audit", "verify", "--profile", profile, "-o", "json"],
            new cli::Deploy.Engine.Cli.CliHost(stdout, stderr, _ => null));
        Assert.True(code == 0, stderr.ToString());
        Assert.True((bool)JsonNode.Parse(stdout.ToString())!["valid"]!);

        var none = new StringWriter();
        var noUrl = await cli::Deploy.Engine.Cli.DeployCtl.RunAsync(["rollout", "list"],
            new cli::Deploy.Engine.Cli.CliHost(new StringWriter(), none, name => name == "HOME" ? _dir : null));
        Assert.Equal(4, noUrl);
        Assert.Contains("error: No engine URL: set DEPLOY_URL", none.ToString(), StringComparison.Ordinal);
    }
}

internal static class CliWaits
{
    /// <summary>Runs a command until its output satisfies <paramref name="done"/> (the catalog follows events within moments).</summary>
    public static async Task<CliRun> WaitForCli(this CliEngine engine, string key, Func<CliRun, bool> done, params string[] args)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var run = await engine.Run(key, args);
            if (done(run) || DateTime.UtcNow > deadline) return run;
            await Task.Delay(200);
        }
    }
}
