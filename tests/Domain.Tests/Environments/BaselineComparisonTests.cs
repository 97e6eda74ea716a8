using Deploy.Engine.Domain.Environments;

namespace Deploy.Engine.Domain.Tests.Environments;

public class BaselineComparisonTests
{
    private const string HashA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string HashB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// <summary>"shop=2.0.0@A, cart=1.0.0; os-image=u24" — services (version@hash) and runtime facts, ';'-separated.</summary>
    private static Baseline B(string text)
    {
        var parts = text.Split(';');
        var services = parts[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.Split('='))
            .ToDictionary(s => s[0], s => s[1].Split('@') is var v ? new ServiceBaseline(v[0], v.Length > 1 ? Hash(v[1]) : null) : null!);
        return new Baseline(services, Runtime(parts.Length > 1 ? parts[1] : string.Empty));
    }

    private static HostFacts F(string text)
    {
        var baseline = B(text);
        return new HostFacts(baseline.Services.ToDictionary(s => s.Key, s => new ServiceFacts(s.Value.Version, null, s.Value.ConfigHash)), baseline.Runtime);
    }

    private static Dictionary<string, string> Runtime(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => s.Split('=')).ToDictionary(s => s[0], s => s[1]);

    private static string? Hash(string letter) => letter switch { "A" => HashA, "B" => HashB, _ => null };

    private static string Show(IEnumerable<FieldDifference> differences) =>
        string.Join(" | ", differences.Select(d => $"{d.Field}: {d.Expected ?? "-"} / {d.Actual ?? "-"}").Select(s => s.Replace(HashA, "A").Replace(HashB, "B")));

    [Theory]
    [InlineData("shop=2.0.0@A; os-image=u24", "shop=2.0.0@A; os-image=u24", "")]
    [InlineData("shop=2.0.0; os-image=u24", "shop=1.9.0; os-image=u22",
        "runtime.os-image: u24 / u22 | services.shop.version: 2.0.0 / 1.9.0")]
    [InlineData("shop=2.0.0@A", "shop=2.0.0@B, cart=1.0.0",
        "services.cart.version: - / 1.0.0 | services.shop.configHash: A / B")]
    [InlineData("shop=2.0.0@A; kernel=6.8", "shop=2.0.0",
        "runtime.kernel: 6.8 / - | services.shop.configHash: A / -")]
    public void Parity_lists_every_difference_in_field_order(string a, string b, string expected) =>
        Assert.Equal(expected, Show(BaselineParity.Compare(B(a), B(b))));

    [Theory]
    // Same as declared: no drift; runtime facts the baseline does not declare are ignored.
    [InlineData("shop=2.0.0@A; os-image=u24", "shop=2.0.0@A; os-image=u24, kernel=6.8", "")]
    // A different version; a different configuration hash; a hash the agent did not report.
    [InlineData("shop=2.0.0@A", "shop=2.0.1@A", "services.shop.version: 2.0.0 / 2.0.1")]
    [InlineData("shop=2.0.0@A", "shop=2.0.0@B", "services.shop.configHash: A / B")]
    [InlineData("shop=2.0.0@A", "shop=2.0.0", "services.shop.configHash: A / -")]
    // A declared service the host does not run is not drift; a service nobody declared is.
    [InlineData("shop=2.0.0, cart=1.0.0", "shop=2.0.0", "")]
    [InlineData("shop=2.0.0", "shop=2.0.0, debug=0.1@B", "services.debug.configHash: - / B | services.debug.version: - / 0.1")]
    // A declared runtime fact that differs or is missing.
    [InlineData("; os-image=u24", "; os-image=u22", "runtime.os-image: u24 / u22")]
    [InlineData("; os-image=u24", "", "runtime.os-image: u24 / -")]
    public void Drift_compares_a_host_report_with_the_baseline(string declared, string reported, string expected) =>
        Assert.Equal(expected, Show(DriftComparer.Compare(B(declared), F(reported))));

    [Fact]
    public void Accepting_drift_writes_the_hosts_values_into_the_baseline()
    {
        var declared = B("shop=2.0.0@A, cart=1.0.0; os-image=u24");
        var result = DriftAcceptance.Accept(declared, [("web-1", F("shop=2.0.1@B; os-image=u22")), ("web-2", F("shop=2.0.1@B, debug=0.1; os-image=u22"))]);

        Assert.Null(result.Conflict);
        Assert.Equal("", Show(BaselineParity.Compare(result.Baseline!, B("shop=2.0.1@B, cart=1.0.0, debug=0.1; os-image=u22"))));
        Assert.Equal("runtime.os-image: u24 / u22 | services.debug.version: - / 0.1 | services.shop.configHash: A / B | services.shop.version: 2.0.0 / 2.0.1",
            Show(result.Accepted));
    }

    [Fact]
    public void Hosts_that_disagree_cannot_both_be_accepted()
    {
        var result = DriftAcceptance.Accept(B("shop=2.0.0"), [("web-1", F("shop=2.0.1")), ("web-2", F("shop=2.0.2"))]);

        Assert.Null(result.Baseline);
        Assert.Equal("hosts 'web-1' and 'web-2' report different values for services.shop.version ('2.0.1' and '2.0.2'): name the hosts whose facts to accept",
            result.Conflict);
    }

    [Fact]
    public void Accepting_a_missing_runtime_fact_removes_it_from_the_baseline()
    {
        var result = DriftAcceptance.Accept(B("; os-image=u24, kernel=6.8"), [("web-1", F("; kernel=6.8"))]);
        Assert.Equal("", Show(BaselineParity.Compare(result.Baseline!, B("; kernel=6.8"))));
    }
}
