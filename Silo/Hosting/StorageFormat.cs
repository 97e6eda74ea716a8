using Newtonsoft.Json;
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
/// </summary>
public static class StorageFormat
{
    public static IServiceCollection AddTypeNameFreeStorageFormat(this IServiceCollection services) =>
        services.PostConfigure<OrleansJsonSerializerOptions>(o =>
        {
            o.JsonSerializerSettings.TypeNameHandling = TypeNameHandling.None;
            o.JsonSerializerSettings.MetadataPropertyHandling = MetadataPropertyHandling.Default;
        });
}
