using System.Text.RegularExpressions;
using Deploy.Engine.Integration.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// The packaging files read against the code they package. No container runtime or systemd exists on the machines that
/// run these tests, so nothing here builds an image or starts a unit: the files are parsed instruction by instruction
/// and each instruction that names something of the engine (its assembly, its ports, its shutdown timeout, its roles,
/// the source paths it copies) is checked against the engine itself, so a rename or a new default breaks this test
/// instead of the first real deployment.
/// </summary>
public sealed class PackagingTests
{
    private static readonly string SiloAssembly = typeof(SiloExtensions).Assembly.GetName().Name + ".dll";

    [Fact]
    public void The_container_image_is_multi_stage_non_root_with_health_check_stop_signal_and_no_baked_secrets()
    {
        var stages = ContainerStages(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "Containerfile")));
        Assert.True(stages.Count >= 2, "a build stage and a runtime stage");
        var build = stages[0];
        var runtime = stages[^1];
        Assert.Contains("dotnet/sdk", build.From, StringComparison.Ordinal);
        Assert.Contains("dotnet/aspnet", runtime.From, StringComparison.Ordinal);

        // What the build stage copies exists in the repository, and it publishes the Silo project.
        foreach (var (_, args) in build.Instructions.Where(i => i.Op == "COPY"))
        {
            var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1])
            {
                Assert.True(File.Exists(Path.Combine(RepoPaths.Root, source)) || Directory.Exists(Path.Combine(RepoPaths.Root, source)),
                    $"COPY {source}: no such file in the repository");
            }
        }

        Assert.Contains(build.Instructions, i => i.Op == "RUN" && i.Args.Contains("dotnet publish Silo/Silo.csproj", StringComparison.Ordinal));

        // The runtime stage takes only the build output, from a stage that exists.
        var names = stages.Select(s => s.Name).ToHashSet();
        Assert.All(runtime.Instructions.Where(i => i.Op == "COPY"), i =>
        {
            var from = Regex.Match(i.Args, "--from=(\\S+)");
            Assert.True(from.Success && names.Contains(from.Groups[1].Value), $"COPY {i.Args} must copy from an earlier stage");
        });

        // Non-root.
        var user = runtime.Instructions.Last(i => i.Op == "USER").Args;
        Assert.DoesNotMatch("^(root|0)(:|$)", user);

        // Ports: the HTTP port it sets, and the engine's default silo and gateway ports, are exposed.
        var env = runtime.Instructions.Where(i => i.Op == "ENV").SelectMany(i => Regex.Matches(i.Args, "(\\w+)=(\\S+)").Select(m => (m.Groups[1].Value, m.Groups[2].Value))).ToDictionary();
        var http = env["ASPNETCORE_HTTP_PORTS"];
        var exposed = runtime.Instructions.Where(i => i.Op == "EXPOSE").SelectMany(i => i.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var defaults = new ClusterSettings();
        Assert.Contains(http, exposed);
        Assert.Contains(defaults.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture), exposed);
        Assert.Contains(defaults.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture), exposed);
        Assert.True(bool.Parse(env["Orleans__ListenOnAnyHostAddress"]), "inside a container the silo listens on every interface");

        // Health: an HTTP check of /healthz or /readyz on that port; a graceful stop signal.
        var health = runtime.Instructions.Single(i => i.Op == "HEALTHCHECK").Args;
        Assert.Matches("/(healthz|readyz)", health);
        Assert.Contains($"127.0.0.1/{http}", health, StringComparison.Ordinal);
        Assert.Equal("SIGTERM", runtime.Instructions.Single(i => i.Op == "STOPSIGNAL").Args);

        // It runs the engine's own assembly.
        Assert.Contains($"\"{SiloAssembly}\"", runtime.Instructions.Single(i => i.Op == "ENTRYPOINT").Args, StringComparison.Ordinal);

        // No secret is baked in: no ENV or ARG whose name says key, secret, password, token or connection string.
        foreach (var stage in stages)
        {
            foreach (var (_, args) in stage.Instructions.Where(i => i.Op is "ENV" or "ARG"))
            {
                Assert.DoesNotMatch("(?i)(key|secret|password|token|connectionstring)\\w*=", args);
            }
        }
    }

    [Theory]
    [InlineData("deploy-engine-silo.service", EngineRole.Silo)]
    [InlineData("deploy-engine-api.service", EngineRole.Api)]
    public void The_systemd_units_run_the_engine_in_their_role_stop_it_gracefully_and_are_hardened(string file, EngineRole role)
    {
        var unit = SystemdUnit(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", file)));
        Assert.EndsWith("/" + SiloAssembly, unit["ExecStart"][0], StringComparison.Ordinal);
        var environment = unit["Environment"].SelectMany(e => e.Split(' ')).Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.True(Enum.TryParse<EngineRole>(environment["Engine__Role"], out var configured) && configured == role, $"Engine__Role={environment["Engine__Role"]}");

        // Graceful: SIGTERM, and systemd waits longer than the engine's own shutdown timeout before it kills.
        Assert.Equal("SIGTERM", unit["KillSignal"].Single());
        var stop = TimeSpan.FromSeconds(int.Parse(unit["TimeoutStopSec"].Single(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(stop > new EngineOptions().ShutdownTimeout, $"TimeoutStopSec {stop} must exceed Engine:ShutdownTimeout {new EngineOptions().ShutdownTimeout}");

        // Readiness through sd_notify (the engine calls AddSystemd), a non-root user, and the hardening.
        Assert.Equal("notify", unit["Type"].Single());
        Assert.DoesNotContain(unit["User"].Single(), new[] { "root", "0" });
        Assert.Equal("true", unit["NoNewPrivileges"].Single());
        Assert.Equal("strict", unit["ProtectSystem"].Single());
        Assert.Equal("true", unit["PrivateTmp"].Single());
        Assert.Equal(string.Empty, unit["CapabilityBoundingSet"].Single());
        // The .NET JIT needs writable-executable memory: this setting would stop the engine from starting.
        Assert.False(unit.ContainsKey("MemoryDenyWriteExecute"));
        // Secrets come from a root-owned environment file, never from the unit.
        Assert.StartsWith("/etc/deploy-engine/", unit["EnvironmentFile"].Single(), StringComparison.Ordinal);
        Assert.DoesNotContain(environment.Keys, k => Regex.IsMatch(k, "(?i)(key|secret|password|token|connectionstring)"));
    }

    private sealed record Stage(string Name, string From, List<(string Op, string Args)> Instructions);

    /// <summary>The stages of a Containerfile: instructions with continuation lines joined and comments dropped.</summary>
    private static List<Stage> ContainerStages(string text)
    {
        var joined = Regex.Replace(text, "\\\\\\r?\\n", " ");
        var stages = new List<Stage>();
        foreach (var raw in joined.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var op = line[..space].ToUpperInvariant();
            var args = Regex.Replace(line[(space + 1)..].Trim(), "\\s+", " ");
            if (op == "FROM")
            {
                var parts = args.Split(' ');
                stages.Add(new Stage(parts.Length == 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : $"{stages.Count}", parts[0], []));
                continue;
            }

            Assert.True(stages.Count > 0, $"instruction before FROM: {line}");
            stages[^1].Instructions.Add((op, args));
        }

        return stages;
    }

    /// <summary>A systemd unit's settings, every value of each key in order.</summary>
    private static Dictionary<string, List<string>> SystemdUnit(string text)
    {
        var settings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '[') continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(eq > 0, $"not a setting: {line}");
            var (key, value) = (line[..eq], line[(eq + 1)..]);
            if (!settings.TryGetValue(key, out var values)) settings[key] = values = [];
            values.Add(value);
        }

        return settings;
    }
}
