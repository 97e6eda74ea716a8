using System.Net;
using System.Text;
using Deploy.Engine.Domain.Webhooks;

namespace Deploy.Engine.Domain.Tests.Webhooks;

public class WebhookFilterTests
{
    private const string Deployed = "dev.cdevents.service.deployed.0.2.0";
    private const string Paused = "dev.cdeventsx.deploy-engine.rollout.paused";

    [Theory]
    [InlineData("", "", "", Deployed, "staging", "shop", true)] // nothing listed: everything
    [InlineData(Deployed, "", "", Deployed, "staging", "shop", true)]
    [InlineData("dev.cdevents.service.*", "", "", Deployed, null, null, true)]
    [InlineData("dev.cdevents.service.*", "", "", Paused, "staging", "shop", false)]
    [InlineData("*", "", "", Paused, null, null, true)]
    [InlineData("dev.cdevents.service.deployed", "", "", Deployed, null, null, false)] // exact means exact: no version suffix implied
    [InlineData("", "staging", "", Deployed, "staging", "shop", true)]
    [InlineData("", "staging", "", Deployed, "production", "shop", false)]
    [InlineData("", "staging", "", Deployed, null, "shop", false)] // about no environment: not "staging"
    [InlineData("", "staging,production", "shop", Deployed, "production", "shop", true)]
    [InlineData("", "", "shop", Deployed, "production", "cart", false)]
    [InlineData("", "", "shop", Deployed, "production", null, false)]
    [InlineData(Paused + "," + Deployed, "staging", "shop", Paused, "staging", "shop", true)]
    public void A_subscription_receives_what_every_list_accepts(string types, string environments, string services, string type, string? environment, string? service, bool expected)
    {
        var filter = new WebhookFilter(Split(types), Split(environments), Split(services));
        Assert.Equal(expected, filter.Matches(type, environment, service));
    }

    [Theory]
    [InlineData("dev.cdevents.service.deployed.0.2.0", true)]
    [InlineData("dev.cdevents.service.*", true)]
    [InlineData("*", true)]
    [InlineData("dev.*.deployed", false)] // a star only at the end
    [InlineData("dev cdevents", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Type_patterns(string? pattern, bool valid) => Assert.Equal(valid, WebhookFilter.IsPattern(pattern));

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries);
}

public class WebhookSignatureTests
{
    /// <summary>The worked example of the Standard Webhooks specification (also Svix's documentation).</summary>
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecBody = "{\"test\": 2432232314}";
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private static readonly DateTimeOffset SpecNow = DateTimeOffset.FromUnixTimeSeconds(SpecTimestamp);

    [Fact]
    public void Signs_exactly_as_the_standard_webhooks_example()
    {
        var key = WebhookSignature.Key(SpecSecret)!;
        Assert.Equal(SpecSignature, WebhookSignature.Sign(key, SpecId, SpecTimestamp, Encoding.UTF8.GetBytes(SpecBody)));
    }

    [Theory]
    [InlineData(SpecId, "1614265330", SpecSignature, SpecBody, 0, true)]
    [InlineData(SpecId, "1614265330", "v0,abc " + SpecSignature, SpecBody, 0, true)] // one of several signatures (key rotation)
    [InlineData(SpecId, "1614265330", SpecSignature, SpecBody, 299, true)] // within five minutes
    [InlineData(SpecId, "1614265330", SpecSignature, SpecBody, 301, false)] // a replay later: too old
    [InlineData(SpecId, "1614265330", SpecSignature, SpecBody, -301, false)] // from the future
    [InlineData(SpecId, "1614265331", SpecSignature, SpecBody, 0, false)] // timestamp changed: signature no longer holds
    [InlineData("msg_other", "1614265330", SpecSignature, SpecBody, 0, false)] // id changed
    [InlineData(SpecId, "1614265330", SpecSignature, "{\"test\": 2432232315}", 0, false)] // body changed
    [InlineData(SpecId, "1614265330", "v1,AAAA", SpecBody, 0, false)]
    [InlineData(SpecId, "not-a-number", SpecSignature, SpecBody, 0, false)]
    public void A_receiver_verifies_id_timestamp_and_body(string id, string timestamp, string header, string body, int secondsLater, bool valid)
    {
        var key = WebhookSignature.Key(SpecSecret)!;
        Assert.Equal(valid, WebhookSignature.Verify(key, id, timestamp, header, Encoding.UTF8.GetBytes(body), SpecNow.AddSeconds(secondsLater), TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true)]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false)] // no prefix
    [InlineData("whsec_not base64!", false)]
    [InlineData("whsec_AAAA", false)] // 3 bytes: too short to be a key
    public void Secrets(string secret, bool valid) => Assert.Equal(valid, WebhookSignature.Key(secret) is not null);

    [Fact]
    public void A_secret_round_trips_to_its_key()
    {
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        Assert.Equal(key, WebhookSignature.Key(WebhookSignature.SecretFor(key)));
    }
}

public class DeliveryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The worked example of <see cref="DeliverySchedule"/>: base 5 s, max 10 min.</summary>
    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(7, 320)]
    [InlineData(8, 600)] // 640 s capped at 10 min
    [InlineData(40, 600)]
    public void Waits_double_up_to_the_ceiling(int failedRounds, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), DeliverySchedule.Delay(failedRounds, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10)));

    [Fact]
    public void Retries_until_the_last_round_then_dead_letters()
    {
        var retry = DeliverySchedule.AfterFailure(7, 8, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), Now, "answered 503");
        Assert.Equal(DeliveryOutcome.Retry, retry.Outcome);
        Assert.Equal(Now.AddSeconds(320), retry.RetryAt);
        Assert.Contains("answered 503", retry.Reason, StringComparison.Ordinal);

        var dead = DeliverySchedule.AfterFailure(8, 8, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), Now, "answered 503");
        Assert.Equal(DeliveryOutcome.DeadLetter, dead.Outcome);
        Assert.Equal("dead-lettered after 8 failed delivery rounds; last: answered 503", dead.Reason);
    }
}

public class OutboundAddressPolicyTests
{
    [Theory]
    [InlineData("93.184.216.34", AddressKind.Public)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", AddressKind.Public)]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("127.8.9.10", AddressKind.Loopback)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)] // IPv4-mapped
    [InlineData("10.1.2.3", AddressKind.Private)]
    [InlineData("172.16.0.1", AddressKind.Private)]
    [InlineData("172.31.255.255", AddressKind.Private)]
    [InlineData("172.32.0.1", AddressKind.Public)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("100.64.0.1", AddressKind.Private)]
    [InlineData("fd00::1", AddressKind.Private)]
    [InlineData("169.254.169.254", AddressKind.Forbidden)] // cloud metadata
    [InlineData("::ffff:169.254.169.254", AddressKind.Forbidden)]
    [InlineData("fe80::1", AddressKind.Forbidden)]
    [InlineData("0.0.0.0", AddressKind.Forbidden)]
    [InlineData("::", AddressKind.Forbidden)]
    [InlineData("224.0.0.1", AddressKind.Forbidden)]
    [InlineData("255.255.255.255", AddressKind.Forbidden)]
    [InlineData("2002:a9fe:a9fe::1", AddressKind.Forbidden)] // 6to4 wrapping 169.254.169.254
    public void Classifies_addresses(string address, AddressKind kind) => Assert.Equal(kind, OutboundAddressPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://hooks.example.com/deploy", "", false, null)]
    [InlineData("http://hooks.example.com/deploy", "", false, null)]
    [InlineData("ftp://hooks.example.com/x", "", false, "must be an http or https URL")]
    [InlineData("file:///etc/passwd", "", false, "must be an http or https URL")]
    [InlineData("/relative", "", false, "must be an http or https URL")] // on Unix a rooted path parses as a file: URI
    [InlineData("not a url", "", false, "must be an absolute URL (at most 2048 characters)")]
    [InlineData("https://user:pw@hooks.example.com/", "", false, "must not carry credentials")]
    [InlineData("https://hooks.example.com/#x", "", false, "must not have a fragment")]
    [InlineData("http://127.0.0.1:9000/hook", "", false, "host resolves to a loopback address (allowed only when Webhooks:AllowLoopback is set)")]
    [InlineData("http://127.0.0.1:9000/hook", "", true, null)]
    [InlineData("http://localhost:9000/hook", "", false, "host resolves to a loopback address (allowed only when Webhooks:AllowLoopback is set)")]
    [InlineData("http://[::1]:9000/hook", "", false, "host resolves to a loopback address (allowed only when Webhooks:AllowLoopback is set)")]
    [InlineData("http://169.254.169.254/latest/meta-data", "", true, "host resolves to a link-local, unspecified, multicast or reserved address, which is never allowed")]
    [InlineData("http://10.0.0.5/hook", "", false, "host resolves to a private-network address (allowed only when Webhooks:AllowPrivateNetworks is set)")]
    [InlineData("https://hooks.example.com/x", "hooks.example.com", false, null)]
    [InlineData("https://a.hooks.example.com/x", "*.hooks.example.com", false, null)]
    [InlineData("https://hooks.example.com/x", "*.hooks.example.com", false, "host is not on the allow-list (Webhooks:AllowedHosts)")]
    [InlineData("https://evil.com/x", "hooks.example.com", false, "host is not on the allow-list (Webhooks:AllowedHosts)")]
    [InlineData("https://hooks.example.com.evil.com/x", "hooks.example.com", false, "host is not on the allow-list (Webhooks:AllowedHosts)")]
    public void Checks_urls(string url, string allowed, bool allowLoopback, string? refusal) =>
        Assert.Equal(refusal, OutboundAddressPolicy.CheckUrl(url, allowed.Split(',', StringSplitOptions.RemoveEmptyEntries), allowLoopback, allowPrivate: false));

    [Fact]
    public void Loopback_and_private_pass_only_when_allowed()
    {
        Assert.NotNull(OutboundAddressPolicy.Refusal(IPAddress.Loopback, allowLoopback: false, allowPrivate: true));
        Assert.Null(OutboundAddressPolicy.Refusal(IPAddress.Loopback, allowLoopback: true, allowPrivate: false));
        Assert.Null(OutboundAddressPolicy.Refusal(IPAddress.Parse("10.0.0.1"), allowLoopback: false, allowPrivate: true));
        Assert.NotNull(OutboundAddressPolicy.Refusal(IPAddress.Parse("169.254.169.254"), allowLoopback: true, allowPrivate: true));
    }
}
