using System.Net;
using System.Net.Sockets;

namespace Deploy.Engine.Domain.Webhooks;

/// <summary>Where an address points, for the outbound-request policy.</summary>
public enum AddressKind
{
    Public,
    Loopback,

    /// <summary>RFC 1918, carrier-grade NAT (100.64/10), IPv6 unique-local (fc00::/7).</summary>
    Private,

    /// <summary>Link-local (169.254/16, fe80::/10: cloud metadata services live here), unspecified, multicast, broadcast, reserved.</summary>
    Forbidden,
}

/// <summary>
/// The engine's guard against server-side request forgery for URLs that users (not operators' configuration) supply,
/// such as webhook subscriptions. A subscriber must not be able to make the engine POST to its own loopback services,
/// the cloud metadata endpoint or the private network behind it:
/// <list type="bullet">
/// <item>only absolute http and https URLs, without credentials or fragment;</item>
/// <item>when an allow-list of hosts is configured, the host must be on it (exact, or <c>*.example.com</c> for subdomains);</item>
/// <item>every address the host resolves to is checked at connect time (not only at creation, which DNS rebinding would
/// defeat): public addresses pass; loopback only when allowed (tests, local demos); private ranges only when allowed;
/// link-local, unspecified, multicast and reserved ranges never.</item>
/// </list>
/// </summary>
public static class OutboundAddressPolicy
{
    public static AddressKind Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return AddressKind.Loopback;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b switch
            {
                [10, ..] => AddressKind.Private,
                [172, >= 16 and <= 31, ..] => AddressKind.Private,
                [192, 168, ..] => AddressKind.Private,
                [100, >= 64 and <= 127, ..] => AddressKind.Private,
                [0, ..] or [169, 254, ..] or [>= 224, ..] => AddressKind.Forbidden,
                [192, 0, 0, ..] or [198, >= 18 and <= 19, ..] => AddressKind.Forbidden,
                _ => AddressKind.Public,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if (address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast) return AddressKind.Forbidden;
            if ((b[0] & 0xFE) == 0xFC) return AddressKind.Private;
            if (address.IsIPv6Teredo || (b[0] == 0x20 && b[1] == 0x02)) return AddressKind.Forbidden; // tunnels that embed IPv4 targets
            return AddressKind.Public;
        }

        return AddressKind.Forbidden;
    }

    /// <summary>Null when a connection to <paramref name="address"/> is allowed; otherwise why not.</summary>
    public static string? Refusal(IPAddress address, bool allowLoopback, bool allowPrivate) => Classify(address) switch
    {
        AddressKind.Public => null,
        AddressKind.Loopback when allowLoopback => null,
        AddressKind.Private when allowPrivate => null,
        AddressKind.Loopback => "resolves to a loopback address (allowed only when Webhooks:AllowLoopback is set)",
        AddressKind.Private => "resolves to a private-network address (allowed only when Webhooks:AllowPrivateNetworks is set)",
        _ => "resolves to a link-local, unspecified, multicast or reserved address, which is never allowed",
    };

    /// <summary>
    /// Checks a URL as given (before any DNS lookup): null when acceptable, otherwise why not. IP literals and
    /// <c>localhost</c> are classified here; names are checked again, address by address, when connecting.
    /// </summary>
    public static string? CheckUrl(string? url, IReadOnlyList<string> allowedHosts, bool allowLoopback, bool allowPrivate)
    {
        if (url is null || url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "must be an absolute URL (at most 2048 characters)";
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return "must be an http or https URL";
        if (uri.UserInfo.Length > 0) return "must not carry credentials";
        if (uri.Fragment.Length > 0) return "must not have a fragment";
        var host = uri.IdnHost.TrimEnd('.');
        if (allowedHosts.Count > 0 && !allowedHosts.Any(h => HostMatches(h, host))) return "host is not on the allow-list (Webhooks:AllowedHosts)";
        if (IPAddress.TryParse(uri.HostNameType == UriHostNameType.IPv6 ? host.Trim('[', ']') : host, out var literal))
        {
            return Refusal(literal, allowLoopback, allowPrivate) is { } why ? "host " + why : null;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return allowLoopback ? null : "host resolves to a loopback address (allowed only when Webhooks:AllowLoopback is set)";
        }

        return null;
    }

    /// <summary><c>hooks.example.com</c> matches itself only; <c>*.example.com</c> matches any subdomain (not example.com).</summary>
    public static bool HostMatches(string pattern, string host) =>
        pattern.StartsWith("*.", StringComparison.Ordinal)
            ? host.Length > pattern.Length - 1 && host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
}
