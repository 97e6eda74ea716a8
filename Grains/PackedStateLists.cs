using System.Buffers;
using System.Text;
using Deploy.Engine.Grains.Hosts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Rollouts;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;

namespace Deploy.Engine.Grains;

// The lists of strings a host's and a rollout's stored state carry, written by Orleans' binary serializer (Local mode's
// storage) as one length-prefixed field each rather than an object and its strings per entry. Orleans records every
// object and string it writes, so that a repeated one goes as a reference, and past 64 recorded objects it moves them
// into a dictionary built afresh for every state it writes. A host with its ten-entry history and ten rollout origins is
// past that line, and so is a rollout's host list, at every commit: in a profile of 10,000-host rolling rollouts the
// host state's serialisation was 15 % of all CPU (7 % in the origins alone, 5 % zeroing the new dictionaries) and the
// rollout's 6 %. Packed, each list is one recorded object. Azure storage writes JSON, where these are the same arrays
// and objects as plain lists' and dictionaries'.

/// <summary>Artifacts a host's service ran, newest first (<see cref="ServiceSlot.History"/>).</summary>
public sealed class ArtifactHistory : List<ServiceArtifact>
{
    public ArtifactHistory()
    {
    }

    public ArtifactHistory(IEnumerable<ServiceArtifact> artifacts)
        : base(artifacts)
    {
    }
}

/// <summary>What a host's service ran before each rollout first changed it, newest first (<see cref="ServiceSlot.Origins"/>).</summary>
public sealed class RolloutOrigins : List<RolloutOrigin>
{
    public RolloutOrigins()
    {
    }

    public RolloutOrigins(IEnumerable<RolloutOrigin> origins)
        : base(origins)
    {
    }
}

/// <summary>Each target host's phase in a rollout, by host id (<see cref="RolloutGrainState.Hosts"/>).</summary>
public sealed class HostPhases : Dictionary<string, HostPhase>
{
    public HostPhases()
        : base(StringComparer.Ordinal)
    {
    }

    public HostPhases(int capacity)
        : base(capacity, StringComparer.Ordinal)
    {
    }
}

/// <summary>A stored plan step's hosts (<see cref="StoredStep.Hosts"/>).</summary>
public sealed class HostIds : List<string>
{
    public HostIds()
    {
    }

    public HostIds(IEnumerable<string> hosts)
        : base(hosts)
    {
    }
}

/// <summary>
/// The packed layout: the content's length in bytes, the entry count, then each entry's strings as (UTF-8 byte count + 1)
/// and the bytes, 0 standing for null, and a rollout phase as one byte. All counts are Orleans' variable-length integers.
/// </summary>
internal static class Packed
{
    public static int Size(uint value)
    {
        var size = 1;
        for (; value >= 0x80; value >>= 7)
        {
            size++;
        }

        return size;
    }

    public static int Size(string? value)
    {
        if (value is null)
        {
            return 1;
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        return Size((uint)bytes + 1) + bytes;
    }

    /// <summary>Writes the field's header and the content's length; the caller writes the count and entries next.</summary>
    public static bool Begin<TBufferWriter, T>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, T? value, int contentSize)
        where TBufferWriter : IBufferWriter<byte>
        where T : class
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return false;
        }

        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(T), WireType.LengthPrefixed);
        writer.WriteVarUInt32((uint)contentSize);
        return true;
    }

    public static void Write<TBufferWriter>(ref Writer<TBufferWriter> writer, string? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (value is null)
        {
            writer.WriteVarUInt32(0);
            return;
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        writer.WriteVarUInt32((uint)bytes + 1);
        StringCodec.WriteRaw(ref writer, value, bytes);
    }

    public static string? Read<TInput>(ref Reader<TInput> reader)
    {
        var prefix = reader.ReadVarUInt32();
        return prefix == 0 ? null : StringCodec.ReadRaw(ref reader, prefix - 1);
    }

    public static string ReadRequired<TInput>(ref Reader<TInput> reader) =>
        Read(ref reader) ?? throw new InvalidDataException("a packed list holds a null where a value is required");

    /// <summary>Reads past the content's length to the entry count (the length only lets other readers skip the field).</summary>
    public static int Count<TInput>(ref Reader<TInput> reader, Field field)
    {
        field.EnsureWireType(WireType.LengthPrefixed);
        reader.ReadVarUInt32();
        return checked((int)reader.ReadVarUInt32());
    }
}

[RegisterSerializer]
[RegisterCopier]
public sealed class ArtifactHistoryCodec : IFieldCodec<ArtifactHistory>, IDeepCopier<ArtifactHistory>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, ArtifactHistory? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        var size = Packed.Size((uint)(value?.Count ?? 0));
        foreach (var entry in value ?? [])
        {
            size += Packed.Size(entry.Artifact) + Packed.Size(entry.Version);
        }

        if (!Packed.Begin(ref writer, fieldIdDelta, expectedType, value, size))
        {
            return;
        }

        writer.WriteVarUInt32((uint)value!.Count);
        foreach (var entry in value)
        {
            Packed.Write(ref writer, entry.Artifact);
            Packed.Write(ref writer, entry.Version);
        }
    }

    public ArtifactHistory ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<ArtifactHistory, TInput>(ref reader, field)!;
        }

        var count = Packed.Count(ref reader, field);
        var result = new ArtifactHistory { Capacity = count };
        ReferenceCodec.RecordObject(reader.Session, result);
        for (var i = 0; i < count; i++)
        {
            result.Add(new ServiceArtifact { Artifact = Packed.Read(ref reader), Version = Packed.Read(ref reader) });
        }

        return result;
    }

    // The entries are immutable records: the copy shares them.
    public ArtifactHistory? DeepCopy(ArtifactHistory? input, CopyContext context)
    {
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<ArtifactHistory>(input, out var copy))
        {
            return copy;
        }

        copy = new ArtifactHistory(input);
        context.RecordCopy(input, copy);
        return copy;
    }
}

[RegisterSerializer]
[RegisterCopier]
public sealed class RolloutOriginsCodec : IFieldCodec<RolloutOrigins>, IDeepCopier<RolloutOrigins>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, RolloutOrigins? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        var size = Packed.Size((uint)(value?.Count ?? 0));
        foreach (var entry in value ?? [])
        {
            size += Packed.Size(entry.RolloutId) + Packed.Size(entry.Artifact) + Packed.Size(entry.Version);
        }

        if (!Packed.Begin(ref writer, fieldIdDelta, expectedType, value, size))
        {
            return;
        }

        writer.WriteVarUInt32((uint)value!.Count);
        foreach (var entry in value)
        {
            Packed.Write(ref writer, entry.RolloutId);
            Packed.Write(ref writer, entry.Artifact);
            Packed.Write(ref writer, entry.Version);
        }
    }

    public RolloutOrigins ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<RolloutOrigins, TInput>(ref reader, field)!;
        }

        var count = Packed.Count(ref reader, field);
        var result = new RolloutOrigins { Capacity = count };
        ReferenceCodec.RecordObject(reader.Session, result);
        for (var i = 0; i < count; i++)
        {
            result.Add(new RolloutOrigin { RolloutId = Packed.ReadRequired(ref reader), Artifact = Packed.Read(ref reader), Version = Packed.Read(ref reader) });
        }

        return result;
    }

    public RolloutOrigins? DeepCopy(RolloutOrigins? input, CopyContext context)
    {
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<RolloutOrigins>(input, out var copy))
        {
            return copy;
        }

        copy = new RolloutOrigins(input.Select(o => new RolloutOrigin { RolloutId = o.RolloutId, Artifact = o.Artifact, Version = o.Version }));
        context.RecordCopy(input, copy);
        return copy;
    }
}

[RegisterSerializer]
[RegisterCopier]
public sealed class HostPhasesCodec : IFieldCodec<HostPhases>, IDeepCopier<HostPhases>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, HostPhases? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        var size = Packed.Size((uint)(value?.Count ?? 0));
        foreach (var host in value?.Keys ?? (IEnumerable<string>)[])
        {
            size += Packed.Size(host) + 1;
        }

        if (!Packed.Begin(ref writer, fieldIdDelta, expectedType, value, size))
        {
            return;
        }

        writer.WriteVarUInt32((uint)value!.Count);
        foreach (var (host, phase) in value)
        {
            Packed.Write(ref writer, host);
            writer.WriteByte((byte)phase);
        }
    }

    public HostPhases ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<HostPhases, TInput>(ref reader, field)!;
        }

        var count = Packed.Count(ref reader, field);
        var result = new HostPhases(count);
        ReferenceCodec.RecordObject(reader.Session, result);
        for (var i = 0; i < count; i++)
        {
            var host = Packed.ReadRequired(ref reader);
            result[host] = (HostPhase)reader.ReadByte();
        }

        return result;
    }

    public HostPhases? DeepCopy(HostPhases? input, CopyContext context)
    {
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<HostPhases>(input, out var copy))
        {
            return copy;
        }

        copy = new HostPhases(input.Count);
        foreach (var (host, phase) in input)
        {
            copy[host] = phase;
        }

        context.RecordCopy(input, copy);
        return copy;
    }
}

[RegisterSerializer]
[RegisterCopier]
public sealed class HostIdsCodec : IFieldCodec<HostIds>, IDeepCopier<HostIds>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, HostIds? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        var size = Packed.Size((uint)(value?.Count ?? 0));
        foreach (var host in value ?? [])
        {
            size += Packed.Size(host);
        }

        if (!Packed.Begin(ref writer, fieldIdDelta, expectedType, value, size))
        {
            return;
        }

        writer.WriteVarUInt32((uint)value!.Count);
        foreach (var host in value)
        {
            Packed.Write(ref writer, host);
        }
    }

    public HostIds ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<HostIds, TInput>(ref reader, field)!;
        }

        var count = Packed.Count(ref reader, field);
        var result = new HostIds { Capacity = count };
        ReferenceCodec.RecordObject(reader.Session, result);
        for (var i = 0; i < count; i++)
        {
            result.Add(Packed.ReadRequired(ref reader));
        }

        return result;
    }

    public HostIds? DeepCopy(HostIds? input, CopyContext context)
    {
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy<HostIds>(input, out var copy))
        {
            return copy;
        }

        copy = new HostIds(input);
        context.RecordCopy(input, copy);
        return copy;
    }
}
