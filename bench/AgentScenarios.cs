using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Deploy.Engine.Integration.Tests.Infrastructure;

namespace Deploy.Engine.Bench;

/// <summary>
/// Real host agents (processes on this machine) deploying the sample service with 10 MB of padding: the agent's
/// per-step apply times against the same download + sha256 + unpack done in this process, the pre-staged revert, the
/// rollback time-to-safe (decision → every instance serving the previous version, asked over HTTP) against the
/// agents' own revert times, and the agent's idle memory against the sample service's.
/// </summary>
public sealed class AgentScenarios(Options options, Report report)
{
    private const int Agents = 3;

    public async Task Run(EngineApp engine)
    {
        var root = Path.Combine(Path.GetTempPath(), "deploy-engine-bench-agents-" + Guid.NewGuid().ToString("n")[..8]);
        using var api = new HttpClient { BaseAddress = new Uri(engine.BaseAddress) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", EngineApp.Key);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var env = EngineApp.AgentEnvironment;
        (await api.PutAsJsonAsync($"/v1/environments/{env}", new { concurrencyLimit = 1 })).EnsureSuccessStatusCode();
        var agents = Enumerable.Range(1, Agents).Select(i => AgentProcess.Create(new Uri(engine.BaseAddress), EngineApp.AgentKey, env,
            $"bench-agent-{i}", root, new Dictionary<string, int> { ["sample"] = EngineApp.FreePort() })).ToList();
        try
        {
            agents.ForEach(a => a.Start());
            await Until(async () => (int)(await Json(api, $"/v1/hosts?environment={env}"))["total"]! == Agents, TimeSpan.FromSeconds(60));

            var steps = new Dictionary<string, List<double>>(StringComparer.Ordinal);
            var raw = new List<double>();
            var agentSide = new List<double>();
            var timeToSafe = new List<double>();
            var revertOnHost = new List<double>();
            var runs = options.Warmup + options.Repetitions;
            for (var run = 0; run < runs; run++)
            {
                var version = $"2.0.{run}";
                var (digest, path) = await SampleArtifacts.Package(version, "ok", Path.Combine(root, "artifacts"),
                    new Dictionary<string, string> { ["SAMPLE_PADDING_MB"] = "10" });
                using (var content = new StreamContent(File.OpenRead(path)))
                {
                    (await api.PutAsync($"/v1/artifacts/{digest}", content)).EnsureSuccessStatusCode();
                }

                var previous = run == 0 ? null : $"2.0.{run - 1}";
                var release = (string)(await Post(api, "/v1/releases", new { service = "sample", version, artifact = digest }))["id"]!;
                var rollout = (string)(await Post(api, "/v1/rollouts", new { releaseId = release, environment = env, strategy = new { preset = "AllAtOnce" } }))["id"]!;
                await Terminal(api, rollout, "Succeeded");
                var recorded = run >= options.Warmup;
                var hosts = await Task.WhenAll(agents.Select(a => Json(api, $"/v1/hosts/{a.HostId}")));
                foreach (var host in hosts.Where(_ => recorded))
                {
                    double fetch = 0;
                    foreach (var step in host["services"]!["sample"]!["lastSteps"]!.AsArray())
                    {
                        var name = (string)step!["name"]!;
                        var ms = (double)step["durationMs"]!;
                        (steps.TryGetValue(name, out var list) ? list : steps[name] = []).Add(ms);
                        if (name is "download" or "verify" or "unpack") fetch += ms;
                    }

                    agentSide.Add(fetch);
                }

                if (recorded)
                {
                    raw.Add(await RawFetch(api, digest, Path.Combine(root, "raw")));
                }

                if (previous is null || !recorded)
                {
                    continue;
                }

                // Roll back: decision → every instance answers the previous version over HTTP.
                var clock = Stopwatch.StartNew();
                (await api.PostAsJsonAsync($"/v1/rollouts/{rollout}/rollback", new { reason = "bench" })).EnsureSuccessStatusCode();
                await Until(async () => (await Task.WhenAll(agents.Select(a => Serving(http, a)))).All(v => v == previous), TimeSpan.FromSeconds(60), pollMs: 5);
                timeToSafe.Add(clock.Elapsed.TotalSeconds);
                await Terminal(api, rollout, "RolledBack");
                foreach (var host in await Task.WhenAll(agents.Select(a => Json(api, $"/v1/hosts/{a.HostId}"))))
                {
                    revertOnHost.Add(((double?)host["services"]!["sample"]!["lastDurationMs"] ?? double.NaN) / 1000);
                }

                // Forward again, so the next run changes from a known version.
                var again = (string)(await Post(api, "/v1/releases", new { service = "sample", version = version + "-again", artifact = digest }))["id"]!;
                await Terminal(api, (string)(await Post(api, "/v1/rollouts", new { releaseId = again, environment = env, strategy = new { preset = "AllAtOnce" } }))["id"]!, "Succeeded");
            }

            foreach (var (name, samples) in steps)
            {
                report.Figure($"agent apply step '{name}', 10 MB artifact ({Agents} agents on this machine)", new Stat("ms", samples));
            }

            report.Add(new Comparison("agent download + verify + unpack of a 10 MB artifact", new Stat("ms", agentSide),
                "the same GET + sha256 + untar in this process", new Stat("ms", raw), HigherIsBetter: false, 2.0, "≤ 2× (reported)",
                $"{Agents} agents apply at once on 2 cores; the baseline runs alone"));
            if (timeToSafe.Count > 0)
            {
                // Two figures, not a ratio: the agents' own revert ends after health checks that come after the instance
                // already serves, so it is no floor for time-to-safe.
                report.Figure($"rollback time-to-safe over {Agents} real agents (decision → every instance serves the previous version)", new Stat("s", timeToSafe));
                report.Figure("pre-staged revert on one host, as the agent reports it (switch, restart, 3 health passes)", new Stat("s", revertOnHost));
            }

            await Task.Delay(5000);
            var agentRss = agents.Select(a => Rss(a.Pid)).Where(r => r > 0).ToList();
            var serviceRss = agents.SelectMany(a => a.ServicePids()).Select(p => Rss(p)).Where(r => r > 0).ToList();
            report.Add(new Comparison("agent idle memory (RSS)", new Stat("MiB", agentRss), "the sample service it supervises (a small Kestrel app)",
                new Stat("MiB", serviceRss), HigherIsBetter: false, 1.5, "≤ 1.5× (reported)"));
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>What the agent's first three steps do, done here: stream the artifact, hash it, untar it.</summary>
    private static async Task<double> RawFetch(HttpClient api, string digest, string root)
    {
        var target = Path.Combine(root, Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(target);
        var clock = Stopwatch.StartNew();
        var file = Path.Combine(root, Path.GetFileName(target) + ".tar.gz");
        await using (var body = await api.GetStreamAsync($"/v1/artifacts/{digest}"))
        await using (var output = File.Create(file))
        {
            await body.CopyToAsync(output);
        }

        await using (var input = File.OpenRead(file))
        {
            _ = await SHA256.HashDataAsync(input);
        }

        await using (var input = File.OpenRead(file))
        await using (var gzip = new GZipStream(input, CompressionMode.Decompress))
        {
            await TarFile.ExtractToDirectoryAsync(gzip, target, overwriteFiles: false);
        }

        var ms = clock.Elapsed.TotalMilliseconds;
        Directory.Delete(target, recursive: true);
        File.Delete(file);
        return ms;
    }

    private static async Task<string?> Serving(HttpClient http, AgentProcess agent)
    {
        try
        {
            return (string?)JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{agent.Ports["sample"]}/version"))!["version"];
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private static double Rss(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/status")) return 0;
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }

    private static async Task<JsonNode> Json(HttpClient api, string url) => JsonNode.Parse(await api.GetStringAsync(url))!;

    private static async Task<JsonNode> Post(HttpClient api, string url, object body)
    {
        var response = await api.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonNode.Parse(text)! : throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {text}");
    }

    private static async Task Terminal(HttpClient api, string rollout, string expected)
    {
        JsonNode? last = null;
        await Until(async () => (string?)(last = await Json(api, $"/v1/rollouts/{rollout}"))["status"] is "Succeeded" or "RolledBack" or "Failed" or "Aborted",
            TimeSpan.FromMinutes(3));
        if ((string?)last!["status"] != expected)
        {
            throw new InvalidOperationException($"rollout {rollout} ended {last["status"]}: {last["statusReason"]}");
        }
    }

    private static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, int pollMs = 50)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("bench agents: condition not met in time");
            await Task.Delay(pollMs);
        }
    }
}
