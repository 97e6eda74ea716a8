using System.Text.Json;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Deploy.Engine.Grains.Traffic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Tests.Traffic;

/// <summary>The HTTP router hook against a real Kestrel router on loopback; no Orleans.</summary>
public sealed class HttpTrafficRouterTests : IAsyncLifetime
{
    private const string Token = "s3cr3t-router-token";

    private RouterStub _stub = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync() => _stub = await RouterStub.StartAsync();

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Retries_transient_failures_until_the_router_accepts()
    {
        _stub.Answer("edge", 503, 503, 200);

        var result = await Router().Apply(Change("edge"), CancellationToken.None);

        Assert.Equal(new TrafficResult(true, null), result);
        var calls = _stub.Calls("edge");
        Assert.Equal(3, calls.Count);
        using var body = JsonDocument.Parse(calls[2].Body);
        Assert.Equal("r-1", body.RootElement.GetProperty("rolloutId").GetString());
        Assert.Equal("prod", body.RootElement.GetProperty("environment").GetString());
        Assert.Equal("checkout", body.RootElement.GetProperty("service").GetString());
        Assert.Equal("2.0.0", body.RootElement.GetProperty("version").GetString());
        Assert.Equal("1.9.0", body.RootElement.GetProperty("stableVersion").GetString());
        Assert.Equal(25, body.RootElement.GetProperty("canaryWeight").GetInt32());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("activeSlot").ValueKind);
        Assert.False(body.RootElement.TryGetProperty("router", out _));
    }

    [Fact]
    public async Task A_router_that_keeps_failing_fails_the_change_naming_router_status_and_attempts()
    {
        _stub.Answer("edge", 500);

        var result = await Router().Apply(Change("edge"), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal("router 'edge' answered 500 after 3 attempts", result.Error);
        Assert.Equal(3, _stub.Calls("edge").Count);
    }

    [Fact]
    public async Task A_router_slower_than_the_attempt_timeout_fails_the_change()
    {
        _stub.Behave("edge", async (_, aborted) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), aborted);
            return 200;
        });

        var result = await Router(("Traffic:AttemptTimeout", "00:00:00.200")).Apply(Change("edge"), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal("router 'edge' timed out after 3 attempts (0.2s per attempt, 20s in all); last attempt: no answer in time", result.Error);
    }

    [Fact]
    public async Task A_rejected_change_is_not_retried()
    {
        _stub.Answer("edge", 400);

        var result = await Router().Apply(Change("edge"), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith("router 'edge' answered 400 (not retried", result.Error);
        Assert.Single(_stub.Calls("edge"));
    }

    [Fact]
    public async Task The_bearer_token_is_sent_and_never_returned()
    {
        _stub.Answer("secure", 200, 403);
        var router = Router(("Traffic:Routers:secure:Token", Token));

        var ok = await router.Apply(Change("secure"), CancellationToken.None);
        var refused = await router.Apply(Change("secure"), CancellationToken.None);

        Assert.True(ok.Ok);
        Assert.False(refused.Ok);
        Assert.DoesNotContain(Token, refused.Error);
        Assert.All(_stub.Calls("secure"), c => Assert.Equal($"Bearer {Token}", c.Authorization));
        Assert.All(_stub.Calls("edge"), c => Assert.Null(c.Authorization));
    }

    [Fact]
    public async Task An_unknown_router_fails_without_a_request()
    {
        var result = await Router().Apply(Change("nowhere"), CancellationToken.None);

        Assert.Equal(new TrafficResult(false, "no traffic router named 'nowhere' is configured"), result);
    }

    [Fact]
    public async Task An_unreachable_router_fails_the_change()
    {
        // A port nothing listens on: the stub's own, once it has stopped.
        var gone = await RouterStub.StartAsync();
        var url = gone.UrlFor("edge");
        await gone.DisposeAsync();

        var result = await Router(("Traffic:Routers:edge:Url", url)).Apply(Change("edge"), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal("router 'edge' could not be reached after 3 attempts (ConnectionError)", result.Error);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/weights", null, "Traffic:Routers:edge:Url must be an absolute http or https URL.")]
    [InlineData("/weights", null, "Traffic:Routers:edge:Url must be an absolute http or https URL.")]
    [InlineData("http://user:pw@127.0.0.1/weights", null, "Traffic:Routers:edge:Url must not carry credentials; use Traffic:Routers:edge:Token.")]
    [InlineData("http://lb.example/weights", Token, "Traffic:Routers:edge:Token is only sent over https (or to a loopback router).")]
    public void Misconfigured_routers_are_refused_at_start(string url, string? token, string expected)
    {
        var router = ("Traffic:Routers:edge:Url", url);
        var services = token is null ? Build(router) : Build(router, ("Traffic:Routers:edge:Token", token));

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<TrafficRouterOptions>>().Value);

        Assert.Contains(expected, e.Failures);
        Assert.DoesNotContain(e.Failures, f => f.Contains(Token, StringComparison.Ordinal) || f.Contains("pw", StringComparison.Ordinal));
    }

    private static TrafficChange Change(string router) =>
        new("r-1", "prod", "checkout", "2.0.0", "1.9.0", 25, null, router);

    /// <summary>Routers "edge" and "secure" on the stub; short retry delays so failures are quick.</summary>
    private ITrafficRouter Router(params (string Key, string Value)[] overrides) =>
        Build([("Traffic:Routers:edge:Url", _stub.UrlFor("edge")), ("Traffic:Routers:secure:Url", _stub.UrlFor("secure")), .. overrides])
            .GetRequiredService<ITrafficRouter>();

    private ServiceProvider Build(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            // Generous per attempt: an attempt cut short by a loaded machine would never reach the stub's count.
            ["Traffic:AttemptTimeout"] = "00:00:05",
            ["Traffic:TotalTimeout"] = "00:00:20",
            ["Traffic:RetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        _services = new ServiceCollection().AddLogging().AddTrafficRouting(configuration).BuildServiceProvider();
        return _services;
    }
}
