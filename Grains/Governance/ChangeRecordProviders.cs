using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Outbound;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Governance;

/// <summary>What a change-record provider says about one record.</summary>
/// <param name="State">approved, pending, rejected, unknown (the provider has no such record) or unavailable (could not ask).</param>
/// <param name="Detail">Why, for a person: "change record CHG-1 is pending, not approved".</param>
public sealed record ChangeRecordStatus(string State, string Detail)
{
    /// <summary>What the record says (service, release, window, approver) when the provider returned it; null when it could not.</summary>
    public ChangeRecordFacts? Facts { get; init; }

    public const string Approved = "approved";
    public const string Pending = "pending";
    public const string Rejected = "rejected";
    public const string Unknown = "unknown";
    public const string Unavailable = "unavailable";

    public static readonly IReadOnlyList<string> States = [Approved, Pending, Rejected];

    public bool IsApproved => State == Approved;
}

/// <summary>Where the engine checks change records: the built-in store, or an ITSM system over HTTP.</summary>
public interface IChangeRecordProvider
{
    Task<ChangeRecordStatus> Get(string id, CancellationToken cancellationToken);
}

/// <summary>
/// Change-record providers, bound from configuration section "Governance:ChangeRecords". The built-in store is the
/// default; an ITSM system is named server-side (a request names a record, never a URL).
/// <code>
/// Governance:ChangeRecords:Provider              = builtin     (or the name of an ITSM endpoint; the global default)
/// Governance:ChangeRecords:Environments:prod     = servicenow  (per environment, over the global default)
/// Governance:ChangeRecords:Itsm:servicenow:Url   = https://itsm.internal/api   (GET {Url}/change-records/{id})
/// Governance:ChangeRecords:Itsm:servicenow:Token = (optional bearer token; never logged or returned)
/// Governance:ChangeRecords:AttemptTimeout / TotalTimeout / MaxAttempts / RetryBaseDelay
/// </code>
/// </summary>
public sealed class ChangeRecordOptions : OutboundHttpOptions
{
    public const string Section = "Governance:ChangeRecords";

    public const string BuiltIn = "builtin";

    public ChangeRecordOptions()
    {
        AttemptTimeout = TimeSpan.FromSeconds(3);
        TotalTimeout = TimeSpan.FromSeconds(10);
    }

    public string Provider { get; set; } = BuiltIn;

    public Dictionary<string, string> Environments { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, OutboundEndpoint> Itsm { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The provider name for <paramref name="environment"/>.</summary>
    public string ProviderFor(string environment) =>
        Environments.TryGetValue(environment, out var name) && !string.IsNullOrWhiteSpace(name) ? name : Provider;
}

public sealed class ChangeRecordOptionsValidator : IValidateOptions<ChangeRecordOptions>
{
    public ValidateOptionsResult Validate(string? name, ChangeRecordOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = OutboundHttp.ValidateTiming(options, ChangeRecordOptions.Section).ToList();
        foreach (var (itsm, endpoint) in options.Itsm)
        {
            if (string.Equals(itsm, ChangeRecordOptions.BuiltIn, StringComparison.OrdinalIgnoreCase)) errors.Add($"{ChangeRecordOptions.Section}:Itsm: '{itsm}' is reserved for the built-in store.");
            errors.AddRange(OutboundHttp.ValidateEndpoint($"{ChangeRecordOptions.Section}:Itsm:{itsm}", endpoint, "ITSM system", baseUrlOnly: true));
        }

        foreach (var (key, provider) in options.Environments.Select(kv => ($"Environments:{kv.Key}", kv.Value)).Append(("Provider", options.Provider)))
        {
            if (!string.Equals(provider, ChangeRecordOptions.BuiltIn, StringComparison.OrdinalIgnoreCase) && !options.Itsm.ContainsKey(provider ?? ""))
            {
                errors.Add($"{ChangeRecordOptions.Section}:{key} names '{provider}', which is neither '{ChangeRecordOptions.BuiltIn}' nor a configured Itsm endpoint.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>The built-in store: one <see cref="IChangeRecordGrain"/> per record.</summary>
public sealed class BuiltInChangeRecordProvider(IGrainFactory grains) : IChangeRecordProvider
{
    public async Task<ChangeRecordStatus> Get(string id, CancellationToken cancellationToken)
    {
        var record = await grains.Ref<IChangeRecordGrain>(id).Get();
        return record is null
            ? new ChangeRecordStatus(ChangeRecordStatus.Unknown, $"change record {id} is unknown (create it: POST /v1/change-records)")
            : Describe(id, record.State) with
            {
                Facts = new ChangeRecordFacts(id, record.State, record.Service, record.Release, record.Start, record.End, record.ApprovedBy),
            };
    }

    public static ChangeRecordStatus Describe(string id, string state) => state switch
    {
        ChangeRecordStatus.Approved => new(state, $"change record {id} is approved"),
        ChangeRecordStatus.Rejected => new(state, $"change record {id} is rejected"),
        _ => new(ChangeRecordStatus.Pending, $"change record {id} is pending, not approved"),
    };
}

/// <summary>Picks the provider configured for an environment.</summary>
public sealed class ChangeRecordProviders(IServiceProvider services, IOptions<ChangeRecordOptions> options)
{
    public Task<ChangeRecordStatus> Get(string environment, string id, CancellationToken cancellationToken = default)
    {
        var name = options.Value.ProviderFor(environment);
        return string.Equals(name, ChangeRecordOptions.BuiltIn, StringComparison.OrdinalIgnoreCase)
            ? services.GetRequiredService<BuiltInChangeRecordProvider>().Get(id, cancellationToken)
            : services.GetRequiredService<HttpChangeRecordProvider>().Get(name, id, cancellationToken);
    }
}
