using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Grains.Events;

/// <summary>
/// Something that reacts to engine events (the audit trail, post-implementation reviews). Followers are called by the
/// event history — the one implicit subscriber of the events namespace — before it appends an event, so each event is
/// delivered once per stream, not once per interested party. A follower must ignore an event it has already seen
/// (streams deliver at least once; a failed follower makes the stream deliver again).
/// </summary>
public interface IEventFollower
{
    /// <summary>Reacts to <paramref name="item"/>, published on the stream <paramref name="streamKey"/>; returns once what it did is stored.</summary>
    Task Follow(string streamKey, EngineEvent item, IGrainFactory grains);
}

/// <summary>Every audited event (see <see cref="AuditFields.IsAudited"/>) goes into the audit trail.</summary>
public sealed class AuditFollower : IEventFollower
{
    public Task Follow(string streamKey, EngineEvent item, IGrainFactory grains) =>
        AuditFields.IsAudited(item) ? grains.Ref<IAuditLogGrain>(GrainKeys.AuditLog).Record(item) : Task.CompletedTask;
}

public static class EventFollowerRegistration
{
    public static IServiceCollection AddEventFollower<TFollower>(this IServiceCollection services)
        where TFollower : class, IEventFollower
    {
        services.AddSingleton<IEventFollower, TFollower>();
        return services;
    }
}
