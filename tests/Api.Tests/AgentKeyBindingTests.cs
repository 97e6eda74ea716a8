using Deploy.Engine.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Every agent key is bound to environments: an unbound one would speak for every host everywhere, so the engine
/// refuses to start with one and names the key and the setting that binds it.
/// </summary>
public class AgentKeyBindingTests
{
    [Theory]
    [InlineData("agent")]
    [InlineData("viewer, Agent")]
    public void The_engine_refuses_to_start_with_an_agent_key_bound_to_no_environment(string roles)
    {
        using var factory = new EngineFactory().WithWebHostBuilder(b =>
        {
            b.UseSetting("Auth:Keys:3:Roles", roles);
            b.UseSetting("Auth:Keys:3:Environments", " , ");
        });

        var refused = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("Auth:Keys:3 ('agent-1') holds the agent role but lists no environments", refused.Message, StringComparison.Ordinal);
    }
}
