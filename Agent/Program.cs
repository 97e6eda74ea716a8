using Deploy.Engine.Agent.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

try
{
    using var host = AgentHosting.CreateBuilder(args).Build();
    await host.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or FileNotFoundException)
{
    await Console.Error.WriteLineAsync("deploy-engine-agent: cannot start: " + e.Message);
    return 2;
}
