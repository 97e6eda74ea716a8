namespace Deploy.Engine.Grains.Traffic;

/// <summary>
/// One traffic shift a rollout asks of a router: send <paramref name="CanaryWeight"/> percent of
/// <paramref name="Service"/>'s traffic in <paramref name="Environment"/> to <paramref name="Version"/>
/// (the rest to <paramref name="StableVersion"/>), or point it at <paramref name="ActiveSlot"/> for blue/green.
/// The change is declarative (the desired split, not a delta), so sending it twice is harmless: the router
/// hook retries on that guarantee.
/// </summary>
/// <param name="Router">
/// The name of a router configured server-side under <c>Traffic:Routers:{name}</c>. A null or empty name means
/// "this rollout has no router": callers skip the hook instead of calling <see cref="ITrafficRouter.Apply"/>.
/// </param>
public sealed record TrafficChange(
    string RolloutId,
    string Environment,
    string Service,
    string Version,
    string? StableVersion,
    int CanaryWeight,
    string? ActiveSlot,
    string Router);

/// <summary>What the router made of a change; <paramref name="Error"/> is short, human-readable and holds no secret.</summary>
public sealed record TrafficResult(bool Ok, string? Error)
{
    public static TrafficResult Success { get; } = new(true, null);

    public static TrafficResult Fail(string error) => new(false, error);
}

/// <summary>Applies traffic changes through a router named in the change.</summary>
public interface ITrafficRouter
{
    /// <summary>
    /// Applies <paramref name="change"/>. Never throws for an unknown router, an HTTP error or a transport
    /// failure: those come back as <see cref="TrafficResult.Ok"/> = false with a reason. Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    Task<TrafficResult> Apply(TrafficChange change, CancellationToken cancellationToken);
}
