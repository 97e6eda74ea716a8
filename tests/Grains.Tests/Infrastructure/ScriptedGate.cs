using System.Collections.Concurrent;
using Deploy.Engine.Grains.Gates;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// A gate the tests script per environment (the cluster is in-process, so a static table reaches the silo):
/// exercises the gate seam itself, independently of any real policy.
/// </summary>
public sealed class ScriptedGate : IRolloutGate
{
    private static readonly ConcurrentDictionary<(string Environment, GatePoint Point), GateDecision> Script = new();

    public string Name => "scripted";

    public IReadOnlySet<GatePoint> Points { get; } = new HashSet<GatePoint> { GatePoint.Submit, GatePoint.Admission, GatePoint.StepBoundary };

    public static void Set(string environment, GatePoint point, GateVerdict verdict, string reason) =>
        Script[(environment, point)] = new GateDecision(verdict, "scripted", reason);

    public static void Clear(string environment, GatePoint point) => Script.TryRemove((environment, point), out _);

    public Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Script.TryGetValue((context.Environment, context.Point), out var decision) ? decision : GateDecision.Pass(Name));
}
