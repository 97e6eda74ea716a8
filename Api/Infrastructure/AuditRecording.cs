using System.Security.Claims;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// Records an action taken through the API in the audit trail, for changes whose grain publishes no event of its own
/// (configuration changes, release submissions). Awaited before the response: an acknowledged change is audited.
/// </summary>
public static class AuditRecording
{
    public static Task RecordAction(
        this IGrainFactory grains, ClaimsPrincipal user, string action, string subject, string? reason, TimeProvider clock,
        IReadOnlyDictionary<string, string?>? facts = null)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AuditFields.Actor] = user.Caller(),
            [AuditFields.Role] = user.CallerRoles(),
        };
        foreach (var (key, value) in facts ?? new Dictionary<string, string?>())
        {
            if (!string.IsNullOrEmpty(value)) data[key] = value;
        }

        return grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog).Record(new EngineEvent
        {
            Id = Guid.NewGuid().ToString("n"),
            Type = action,
            Subject = subject,
            Timestamp = clock.GetUtcNow(),
            Reason = reason,
            Data = data,
        });
    }
}
