using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Webhooks;

/// <summary>
/// Bound from configuration section "Webhooks". One delivery round is the inherited HTTP pipeline (total timeout ⊃ up
/// to <see cref="OutboundHttpOptions.MaxAttempts"/> quick attempts ⊃ per-attempt timeout); between failed rounds the
/// event waits (<see cref="Domain.Webhooks.DeliverySchedule"/>), and after <see cref="MaxRounds"/> it is dead-lettered.
/// </summary>
public sealed class WebhookOptions : OutboundHttpOptions
{
    public const string Section = "Webhooks";

    public WebhookOptions()
    {
        AttemptTimeout = TimeSpan.FromSeconds(10);
        TotalTimeout = TimeSpan.FromSeconds(30);
        MaxAttempts = 3;
        RetryBaseDelay = TimeSpan.FromMilliseconds(500);
    }

    /// <summary>Failed rounds before an event is dead-lettered.</summary>
    public int MaxRounds { get; set; } = 8;

    /// <summary>Wait after the first failed round; it doubles per round up to <see cref="MaxRoundDelay"/>.</summary>
    public TimeSpan RoundBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRoundDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Hosts a subscription may name (exact, or <c>*.example.com</c>); empty: any host whose addresses pass the address policy.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Allow receivers on loopback addresses (tests, a local demo). Off by default: a subscriber must not reach the engine's own host.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>Allow receivers on private networks (RFC 1918, CGNAT, IPv6 ULA). Off by default.</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Events an outbox holds; beyond it, a new event is dead-lettered at once ("outbox full") rather than lost unseen.</summary>
    public int MaxPending { get; set; } = 1000;

    /// <summary>Dead letters kept per subscription; the oldest go first.</summary>
    public int MaxDeadLetters { get; set; } = 1000;

    /// <summary>The CloudEvents <c>source</c> (a URI reference) of every event the engine sends.</summary>
    public string Source { get; set; } = "/deploy-engine";
}

public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = OutboundHttp.ValidateTiming(options, WebhookOptions.Section).ToList();
        if (options.MaxRounds is < 1 or > 100) failures.Add("Webhooks:MaxRounds must be between 1 and 100.");
        if (options.RoundBaseDelay < TimeSpan.Zero || options.MaxRoundDelay < options.RoundBaseDelay) failures.Add("Webhooks:RoundBaseDelay must not be negative, nor more than Webhooks:MaxRoundDelay.");
        if (options.MaxPending is < 1 or > 100_000) failures.Add("Webhooks:MaxPending must be between 1 and 100000.");
        if (options.MaxDeadLetters is < 1 or > 100_000) failures.Add("Webhooks:MaxDeadLetters must be between 1 and 100000.");
        if (!Uri.TryCreate(options.Source, UriKind.RelativeOrAbsolute, out _) || string.IsNullOrWhiteSpace(options.Source)) failures.Add("Webhooks:Source must be a URI reference.");
        if (options.AllowedHosts.Any(h => string.IsNullOrWhiteSpace(h) || h.Contains('/', StringComparison.Ordinal) || (h.Contains('*', StringComparison.Ordinal) && !h.StartsWith("*.", StringComparison.Ordinal))))
        {
            failures.Add("Webhooks:AllowedHosts entries are host names, or *.domain for its subdomains.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Keeps a subscription's signing secret encrypted at rest (ASP.NET Core Data Protection in the silo).</summary>
public interface IWebhookSecretProtector
{
    string Protect(string secret);

    /// <summary>The secret, or null when the key ring no longer opens it.</summary>
    string? Unprotect(string protectedSecret);
}
