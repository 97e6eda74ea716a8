namespace Deploy.Engine.Grains.Interfaces;

/// <summary>
/// Readiness: reads the engine's state stores (table and blob) afresh on every call, so <c>/readyz</c> answers from
/// storage as it is now, not from an activation that read it once.
/// </summary>
[Alias("IStorageProbeGrain")]
public interface IStorageProbeGrain : IGrainWithStringKey
{
    /// <summary>Completes when both stores answered a read; throws the storage failure otherwise.</summary>
    [Alias("Probe")]
    Task Probe();
}
