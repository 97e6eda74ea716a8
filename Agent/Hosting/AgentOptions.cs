using Microsoft.Extensions.Options;

namespace Deploy.Engine.Agent.Hosting;

/// <summary>The agent's configuration (docs/agent.md, "Configuration"): agent.json, then DEPLOY_AGENT_*, then the command line.</summary>
public sealed class AgentOptions
{
    public string? Engine { get; set; }

    public string? Key { get; set; }

    public string HostId { get; set; } = System.Environment.MachineName;

    public string? Environment { get; set; }

    public Dictionary<string, string> Labels { get; set; } = [];

    public string DataDirectory { get; set; } = "./agent-data";

    public Dictionary<string, ServiceOptions> Services { get; set; } = new(StringComparer.Ordinal);

    public int KeepReleases { get; set; } = 3;

    public long MaxArtifactBytes { get; set; } = 512L * 1024 * 1024;

    public long MaxUnpackedBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    public int PollSeconds { get; set; } = 25;

    public int HeartbeatSeconds { get; set; } = 10;

    public int MetricsSeconds { get; set; } = 2;

    /// <summary>PEM public keys (ECDSA P-256, SubjectPublicKeyInfo); when any is set, provenance is required.</summary>
    public List<string> TrustedKeys { get; set; } = [];

    public ServiceOptions For(string service) => Services.TryGetValue(service, out var s) ? s : new ServiceOptions();
}

/// <summary>What the host gives one service: its port, extra environment, or a systemd unit that runs it instead.</summary>
public sealed class ServiceOptions
{
    public int? Port { get; set; }

    public Dictionary<string, string> Environment { get; set; } = [];

    public string? Systemd { get; set; }
}

/// <summary>Refuses to start with a clear message naming each missing or impossible setting.</summary>
public sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Engine))
            errors.Add("Engine is required: the engine's base URL (agent.json \"Engine\", DEPLOY_AGENT_Engine or --Engine=http://host:port)");
        else if (!Uri.TryCreate(options.Engine, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            errors.Add($"Engine must be an absolute http(s) URL, not '{options.Engine}'");
        if (string.IsNullOrWhiteSpace(options.Key))
            errors.Add("Key is required: the agent API key (agent.json \"Key\", DEPLOY_AGENT_Key or --Key=...)");
        if (string.IsNullOrWhiteSpace(options.Environment))
            errors.Add("Environment is required: the environment this host joins (DEPLOY_AGENT_Environment or --Environment=...)");
        if (string.IsNullOrWhiteSpace(options.HostId)) errors.Add("HostId must not be empty");
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) errors.Add("DataDirectory must not be empty");
        if (options.KeepReleases < 2) errors.Add("KeepReleases must be at least 2 (the current release and the one before it)");
        if (options.MaxArtifactBytes <= 0) errors.Add("MaxArtifactBytes must be positive");
        if (options.MaxUnpackedBytes <= 0) errors.Add("MaxUnpackedBytes must be positive");
        if (options.PollSeconds is < 1 or > 300) errors.Add("PollSeconds must be from 1 to 300");
        if (options.HeartbeatSeconds < 1) errors.Add("HeartbeatSeconds must be at least 1");
        if (options.MetricsSeconds < 1) errors.Add("MetricsSeconds must be at least 1");
        foreach (var (service, s) in options.Services)
        {
            if (s.Port is < 1 or > 65535) errors.Add($"Services:{service}:Port must be from 1 to 65535");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
