using Deploy.Engine.Agent.Apply;
using Deploy.Engine.Agent.Artifacts;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Journal;
using Deploy.Engine.Agent.Lifecycle;
using Deploy.Engine.Agent.Releases;
using Deploy.Engine.Agent.Workers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Agent.Hosting;

/// <summary>The agent's wiring: configuration sources in the documented order, options with validation, services.</summary>
public static class AgentHosting
{
    public const string EngineClientName = "engine";
    public const string LocalClient = "local";
    public const string EnvironmentPrefix = "DEPLOY_AGENT_";

    /// <summary>
    /// agent.json in the working directory (or <c>--config FILE</c>), then <c>DEPLOY_AGENT_*</c> variables, then the
    /// command line: each later source overrides the earlier.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = Directory.GetCurrentDirectory() });
        var (file, explicitly) = ConfigFile(args);
        if (explicitly && !File.Exists(file)) throw new FileNotFoundException($"--config names '{file}', which does not exist", file);
        builder.Configuration.AddJsonFile(file, optional: !explicitly, reloadOnChange: false);
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Configuration.AddCommandLine(args);
        builder.Services.AddSystemd();
        builder.Services.AddAgent(builder.Configuration);
        return builder;
    }

    public static IServiceCollection AddAgent(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AgentOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new AgentPaths(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory));
        services.AddSingleton(sp => EngineResilience.Create(sp.GetRequiredService<TimeProvider>()));
        services.AddHttpClient(EngineClientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
        services.AddHttpClient(LocalClient).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) });
        services.AddSingleton(sp => new EngineClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(EngineClientName),
            sp.GetRequiredService<IOptions<AgentOptions>>(),
            sp.GetRequiredService<Polly.ResiliencePipeline<HttpResponseMessage>>()));
        services.AddSingleton(sp => new HealthChecker(sp.GetRequiredService<IHttpClientFactory>().CreateClient(LocalClient), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ArtifactDownloader>();
        services.AddSingleton<ReleaseStore>();
        services.AddSingleton<JournalStore>();
        services.AddSingleton<ServiceSupervisor>();
        services.AddSingleton<ApplyPipeline>();
        services.AddHostedService<AgentWorker>();
        services.AddHostedService<MetricsWorker>();
        return services;
    }

    private static (string Path, bool Explicit) ConfigFile(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c" && i + 1 < args.Length) return (Path.GetFullPath(args[i + 1]), true);
            if (args[i].StartsWith("--config=", StringComparison.Ordinal)) return (Path.GetFullPath(args[i]["--config=".Length..]), true);
        }

        return (Path.GetFullPath("agent.json"), false);
    }
}
