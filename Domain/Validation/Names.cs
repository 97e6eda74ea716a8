using System.Text.RegularExpressions;

namespace Deploy.Engine.Domain.Validation;

/// <summary>The shapes of names that become grain keys and URL segments.</summary>
public static partial class Names
{
    /// <summary>Environment and service names: lower-case DNS labels, 1–63 characters.</summary>
    public static bool IsDnsLabel(string? name) => name is not null && DnsLabel().IsMatch(name);

    /// <summary>Host ids: letters, digits, '.', '-', '_', 1–128 characters, starting with a letter or digit.</summary>
    public static bool IsHostId(string? id) => id is not null && HostId().IsMatch(id);

    /// <summary>Label keys and values as Kubernetes allows them (prefix-less keys).</summary>
    public static bool IsLabel(string? key, string? value) =>
        key is not null && value is not null && LabelKey().IsMatch(key) && LabelValue().IsMatch(value);

    /// <summary>Versions: 1–64 printable characters without spaces or slashes (SemVer fits).</summary>
    public static bool IsVersion(string? version) => version is not null && Version().IsMatch(version);

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex HostId();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelKey();

    [GeneratedRegex("^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$")]
    private static partial Regex Version();
}
