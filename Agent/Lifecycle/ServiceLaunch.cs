using Deploy.Engine.Agent.Artifacts;
using Deploy.Engine.Agent.Hosting;

namespace Deploy.Engine.Agent.Lifecycle;

/// <summary>Everything needed to start, stop and probe one release of a service.</summary>
public sealed record ServiceLaunch(string Service, string? Version, string ReleaseDirectory, ReleaseManifest Manifest, ServiceOptions Options)
{
    /// <summary>The argv the service runs with: a relative command with a '/' is taken inside the release.</summary>
    public IReadOnlyList<string> Argv()
    {
        var command = Manifest.Start?.Command ?? throw new InvalidDataException("manifest.json has no start.command");
        if (command.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command)) command = Path.Combine(ReleaseDirectory, command);
        return [command, .. Manifest.Start.Args];
    }

    /// <summary>PORT, the DEPLOY_* names, then the manifest's start environment, then the host's Services:{name}:Environment.</summary>
    public Dictionary<string, string> Environment(string? lifecycleEvent = null, string? deploymentId = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DEPLOY_SERVICE"] = Service,
            ["DEPLOY_VERSION"] = Version ?? "",
            ["DEPLOY_RELEASE_DIR"] = ReleaseDirectory,
        };
        if (Options.Port is { } port) env["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (lifecycleEvent is not null)
        {
            env["DEPLOY_LIFECYCLE_EVENT"] = lifecycleEvent;
            env["LIFECYCLE_EVENT"] = lifecycleEvent;
            env["APPLICATION_NAME"] = Service;
            env["DEPLOYMENT_ID"] = deploymentId ?? "";
        }
        else
        {
            foreach (var (k, v) in Manifest.Start?.Environment ?? []) env[k] = v;
        }

        foreach (var (k, v) in Options.Environment) env[k] = v;
        return env;
    }
}
