using Newtonsoft.Json;
using Newtonsoft.Json.Serialization;
using Orleans.Serialization;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// The format of grain state in Azure Tables and Blobs. Orleans writes it as JSON (Newtonsoft) with
/// <c>TypeNameHandling.All</c> by default: every object and collection carries its CLR type name (<c>"$type":
/// "Deploy.Engine.Grains…, Deploy.Engine.Grains"</c>, <c>"$values"</c> wrappers), and reading it back constructs the type
/// the stored document names, so whoever can write the storage account chooses what the silo instantiates. Here no
/// type name is written or honoured: the declared type of each member decides (no grain state holds a polymorphic
/// member). State written before this change still reads: a <c>$type</c> is ignored and a <c>$values</c> wrapper
/// unwrapped. What still carries type names in storage, and why it is not attacker-controllable: the Data Protection
/// key ring's XML names its deserializer and decryptor types; Data Protection activates only types implementing its own
/// interfaces, and the keys are encrypted and authenticated under <see cref="KeyRingKey"/>.
/// <para>
/// Every member is written, defaults and nulls included. Orleans' defaults (<c>DefaultValueHandling.Ignore</c>,
/// <c>NullValueHandling.Ignore</c>) leave out a member whose value is its type's default, and reading the document back
/// left such a member at its initializer: a rollout in its first step (<c>CurrentStep = 0</c>, initializer −1) came
/// back from a reactivation before its first step and deployed that batch again; an unhealthy host (<c>Healthy =
/// false</c>, initializer true) came back healthy; a switched-off flag came back on. In a document written that way a
/// missing value-type member meant its default, so one is read as its default (<c>Populate</c>), which also reads those
/// older documents right; a missing reference member (a list added to the state later) keeps its initializer.
/// </para>
/// <para>
/// No <c>$id</c> is written (Orleans' default preserves object references): state is a tree, and without type names an
/// <c>$id</c> on a read-only dictionary cannot be read back at all (a flag with variants made its environment's flags
/// unreadable after a restart).
/// </para>
/// </summary>
public static class StorageFormat
{
    public static IServiceCollection AddTypeNameFreeStorageFormat(this IServiceCollection services) =>
        services.PostConfigure<OrleansJsonSerializerOptions>(o => Apply(o.JsonSerializerSettings));

    /// <summary>The engine's changes to Orleans' JSON settings for stored state.</summary>
    public static void Apply(JsonSerializerSettings settings)
    {
        settings.TypeNameHandling = TypeNameHandling.None;
        settings.MetadataPropertyHandling = MetadataPropertyHandling.Default;
        settings.PreserveReferencesHandling = PreserveReferencesHandling.None;
        settings.DefaultValueHandling = DefaultValueHandling.Include;
        settings.NullValueHandling = NullValueHandling.Include;
        if (settings.ContractResolver is not ValueMembersPopulated)
        {
            settings.ContractResolver = new ValueMembersPopulated(settings.ContractResolver ?? new DefaultContractResolver());
        }
    }

    /// <summary>
    /// The contracts of <paramref name="inner"/>, with each value-type member read as its default when a document lacks
    /// it; adjusted once per type (Newtonsoft asks for a contract per object it writes or reads, a hot path).
    /// </summary>
    private sealed class ValueMembersPopulated(IContractResolver inner) : IContractResolver
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, JsonContract> _contracts = new();

        public JsonContract ResolveContract(Type type) => _contracts.GetOrAdd(type, t =>
        {
            var contract = inner.ResolveContract(t);
            if (contract is JsonObjectContract members)
            {
                foreach (var member in members.Properties.Where(p => p.PropertyType is { IsValueType: true }))
                {
                    member.DefaultValueHandling = DefaultValueHandling.Populate;
                }
            }

            return contract;
        });
    }
}
