using Deploy.Engine.Grains.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Deploy.Engine.Grains.Delivery;

public static class DeliveryExtensions
{
    /// <summary>The DORA ledger's event follower (the grains need no registration).</summary>
    public static IServiceCollection AddDeliveryLedger(this IServiceCollection services) => services.AddEventFollower<DeliveryFollower>();
}
