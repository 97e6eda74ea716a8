using System.Reflection;
using Deploy.Engine.Grains.Rollouts;
using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using Orleans.Serialization;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// Grain state in Azure Tables and Blobs is JSON in the engine's <see cref="StorageFormat"/>. A member left at its
/// type's default must read back as that value, not as the member's initializer: Orleans' own settings leave such
/// members out, which brought a rollout in its first step back before it (the batch deployed twice after a silo
/// restart), an unhealthy host back healthy and a switched-off flag back on.
/// </summary>
public sealed class StoredStateFormatTests
{
    private static readonly JsonSerializerSettings Settings = new ServiceCollection()
        .AddOptions()
        .AddTypeNameFreeStorageFormat()
        .BuildServiceProvider()
        .GetRequiredService<IOptions<OrleansJsonSerializerOptions>>().Value.JsonSerializerSettings;

    [Fact]
    public void A_rollout_in_its_first_step_reads_back_in_its_first_step()
    {
        var state = new RolloutGrainState { CurrentStep = 0, StepActionDone = true };

        var read = RoundTrip(state);

        Assert.Equal(0, read.CurrentStep);
        Assert.True(read.StepActionDone);
    }

    [Fact]
    public void A_document_written_with_orleans_defaults_reads_a_missing_value_member_as_its_default()
    {
        // Written before the fix: Orleans left out what equalled its type's default (here CurrentStep 0, Healthy false).
        var read = JsonConvert.DeserializeObject<RolloutGrainState>("{\"Status\":\"Progressing\",\"Version\":\"2.0.0\"}", Settings)!;
        var host = JsonConvert.DeserializeObject<Deploy.Engine.Grains.Hosts.HostGrainState>("{\"Environment\":\"prod\"}", Settings)!;

        Assert.Equal(0, read.CurrentStep);
        Assert.False(host.Healthy);
        Assert.NotNull(read.Steps); // a missing list keeps its initializer
    }

    [Fact]
    public void A_flag_with_variants_reads_back()
    {
        var state = new Deploy.Engine.Grains.Flags.FlagSetState
        {
            Flags = [new Deploy.Engine.Grains.Interfaces.FlagSpec
            {
                Key = "checkout", Service = "shop", Enabled = false, DefaultVariant = "on", OffVariant = "off",
                Variants = new Dictionary<string, string> { ["on"] = "true", ["off"] = "false" },
            }],
        };

        var read = RoundTrip(state);

        Assert.False(read.Flags[0].Enabled);
        Assert.Equal("true", read.Flags[0].Variants["on"]);
    }

    [Fact]
    public void A_parameter_change_keeps_its_approval_count_and_approvers_and_one_stored_before_them_still_reads()
    {
        var state = new Deploy.Engine.Grains.Configuration.EnvironmentParametersState
        {
            Changes = [new Deploy.Engine.Grains.Interfaces.ParameterChangeSnapshot
            {
                Id = "pc-1", Environment = "prod", ProposedBy = "ci", Proposed = new Deploy.Engine.Grains.Interfaces.ParameterSet(),
                ApprovalsRequired = 2, ApprovedBy = ["carol"],
            }],
        };
        var read = Assert.Single(RoundTrip(state).Changes);
        Assert.Equal(2, read.ApprovalsRequired);
        Assert.Equal(["carol"], read.ApprovedBy);

        // Written before parameter changes recorded a count and their approvers (issue 14): both members absent. The
        // count reads 0, which the change rule reads as "what the setting asks now" (ChangeProposals.Required).
        const string before = """
            {"Values":{"pool":"5"},"ProtectedSecrets":{},"Version":1,"UpdatedBy":"ci","Changes":[{"Id":"pc-2","Environment":"prod","State":0,
             "Proposed":{"Values":{"pool":"9"},"ProtectedSecrets":{"db_password":"CfDJ8"}},"ProposedAgainst":1,"Differences":[{"Field":"values.pool","Before":"5","After":"9"}],
             "ProposedBy":"ci","ProposedByRoles":"pipeline","ApprovalNeeded":"environment 'prod' is production tier or protected"}]}
            """;
        var old = Assert.Single(JsonConvert.DeserializeObject<Deploy.Engine.Grains.Configuration.EnvironmentParametersState>(before, Settings)!.Changes);
        Assert.Equal(0, old.ApprovalsRequired);
        Assert.Empty(old.ApprovedBy);
        Assert.Equal("9", old.Proposed.Values["pool"]);
        Assert.Equal("CfDJ8", old.Proposed.ProtectedSecrets["db_password"]);
        Assert.Equal(2, Deploy.Engine.Domain.Environments.ChangeProposals.Required(old.ApprovalsRequired, configured: 2));
    }

    /// <summary>
    /// Every serializable type of the grains and their contracts: each member whose initializer is not its type's default,
    /// set to that default, survives a write and a read.
    /// </summary>
    [Fact]
    public void Every_member_set_to_its_default_reads_back_as_that_default_not_as_its_initializer()
    {
        var assemblies = new[] { typeof(RolloutGrainState).Assembly, typeof(Deploy.Engine.Grains.Interfaces.GrainKeys).Assembly };
        var checkedMembers = new List<string>();
        var lost = new List<string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(Storable))
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0))
            {
                var fresh = Activator.CreateInstance(type)!;
                var initial = property.GetValue(fresh);
                var zero = Zero(property.PropertyType);
                if (Equals(initial, zero) || !(property.PropertyType.IsValueType))
                {
                    continue;
                }

                property.SetValue(fresh, zero);
                checkedMembers.Add($"{type.Name}.{property.Name}");
                var read = JsonConvert.DeserializeObject(JsonConvert.SerializeObject(fresh, type, Settings), type, Settings)!;
                if (!Equals(property.GetValue(read), zero))
                {
                    lost.Add($"{type.Name}.{property.Name}: wrote {zero ?? "null"}, read {property.GetValue(read)}");
                }
            }
        }

        // The members this guards today, among others; the list grows with the state.
        Assert.Contains("RolloutGrainState.CurrentStep", checkedMembers);
        Assert.Contains("HostGrainState.Healthy", checkedMembers);
        Assert.Contains("FlagSpec.Enabled", checkedMembers);
        Assert.True(lost.Count == 0, "members that do not survive storage:\n" + string.Join("\n", lost));
    }

    /// <summary>Every read-only dictionary member of a serializable type, holding an entry, reads back with it.</summary>
    [Fact]
    public void Every_read_only_dictionary_member_reads_back()
    {
        var assemblies = new[] { typeof(RolloutGrainState).Assembly, typeof(Deploy.Engine.Grains.Interfaces.GrainKeys).Assembly };
        var checkedMembers = new List<string>();
        var lost = new List<string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(Storable))
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanWrite && p.PropertyType == typeof(IReadOnlyDictionary<string, string>)))
            {
                var value = Activator.CreateInstance(type)!;
                property.SetValue(value, new Dictionary<string, string> { ["k"] = "v" });
                checkedMembers.Add($"{type.Name}.{property.Name}");
                try
                {
                    var read = JsonConvert.DeserializeObject(JsonConvert.SerializeObject(value, type, Settings), type, Settings)!;
                    if (property.GetValue(read) is not IReadOnlyDictionary<string, string> { Count: 1 } back || back["k"] != "v")
                    {
                        lost.Add($"{type.Name}.{property.Name}: the entry did not come back");
                    }
                }
                catch (JsonException e)
                {
                    lost.Add($"{type.Name}.{property.Name}: {e.Message}");
                }
            }
        }

        Assert.Contains("FlagSpec.Variants", checkedMembers);
        Assert.True(lost.Count == 0, "members that do not survive storage:\n" + string.Join("\n", lost));
    }

    private static bool Storable(Type type) =>
        type is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }
        && type.GetCustomAttribute<GenerateSerializerAttribute>() is not null
        && type.GetConstructor(Type.EmptyTypes) is not null;

    private static object? Zero(Type type) => type.IsValueType ? Activator.CreateInstance(type) : null;

    private static T RoundTrip<T>(T value) => JsonConvert.DeserializeObject<T>(JsonConvert.SerializeObject(value, typeof(T), Settings), Settings)!;
}
