using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Grains;

/// <summary>
/// When an engine grain's call ends in an exception — above all a storage write that failed — its in-memory
/// state may hold a change that never reached storage. The activation is dropped so the next call reloads
/// what storage has, instead of answering from a state nobody acknowledged. Expected refusals are results,
/// not exceptions, so this only fires on real faults.
/// </summary>
public sealed partial class DeactivateOnFailureFilter(ILogger<DeactivateOnFailureFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (context.Grain is IGrainBase grain && IsEngineGrain(grain))
        {
            LogDeactivating(logger, context.TargetId.ToString(), context.MethodName, ex.GetType().Name);
            grain.DeactivateOnIdle();
            throw;
        }
    }

    internal static bool IsEngineGrain(IGrainBase grain) =>
        grain.GetType().Namespace?.StartsWith("Deploy.Engine.", StringComparison.Ordinal) == true;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain {GrainId} failed in {Method} ({Error}); deactivating so it reloads from storage")]
    private static partial void LogDeactivating(ILogger logger, string grainId, string method, string error);
}
