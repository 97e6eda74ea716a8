using System.Text.Json;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Releases;

namespace Deploy.Engine.Agent.Journal;

/// <summary>Reads and writes <c>journal/&lt;service&gt;.json</c>; every write is a temp file, fsync, then rename.</summary>
public sealed class JournalStore(AgentPaths paths)
{
    public ServiceJournal? Load(string service)
    {
        var path = paths.Journal(service);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ServiceJournal>(File.ReadAllText(path), Wire.Json);
        }
        catch (JsonException)
        {
            return null; // a torn write cannot happen (rename), but a hand-edited file must not stop the agent
        }
    }

    public IEnumerable<ServiceJournal> LoadAll()
    {
        if (!Directory.Exists(paths.Journals)) yield break;
        foreach (var file in Directory.EnumerateFiles(paths.Journals, "*.json").Order(StringComparer.Ordinal))
        {
            ServiceJournal? journal = null;
            try
            {
                journal = JsonSerializer.Deserialize<ServiceJournal>(File.ReadAllText(file), Wire.Json);
            }
            catch (JsonException)
            {
            }

            if (journal is not null) yield return journal;
        }
    }

    public void Save(ServiceJournal journal)
    {
        Directory.CreateDirectory(paths.Journals);
        var path = paths.Journal(journal.Service);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, journal, Wire.Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
