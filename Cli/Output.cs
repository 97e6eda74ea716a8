using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Deploy.Engine.Cli;

/// <summary>Writes results as tables for people or as JSON (<c>--output json</c>) for programs.</summary>
public sealed class Output
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public Output(CliHost host, bool json)
    {
        Json = json;
        Host = host;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(host.Out),
        });
        Console.Profile.Width = 160;
    }

    public bool Json { get; }

    public CliHost Host { get; }

    public IAnsiConsole Console { get; }

    /// <summary>The JSON document as is (indented).</summary>
    public void Document(JsonNode node) => Host.Out.WriteLine(node.ToJsonString(Indented));

    /// <summary>One compact JSON line (for streams of records).</summary>
    public void Line(JsonNode node) => Host.Out.WriteLine(node.ToJsonString());

    /// <summary>Properties of one object as a two-column table.</summary>
    public void Fields(JsonNode node, params string[] names)
    {
        var table = new Table().AddColumn("field").AddColumn("value");
        foreach (var name in names)
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(Text(node[name])));
        }

        Console.Write(table);
    }

    /// <summary>A list of objects as a table, one column per name.</summary>
    public void Rows(JsonArray items, params string[] columns)
    {
        var table = new Table();
        foreach (var c in columns) table.AddColumn(Markup.Escape(c));
        foreach (var item in items)
        {
            table.AddRow(columns.Select(c => Markup.Escape(Text(Path(item, c)))).ToArray());
        }

        Console.Write(table);
    }

    public void Say(string text) => Host.Out.WriteLine(text);

    public static JsonNode? Path(JsonNode? node, string dotted)
    {
        foreach (var part in dotted.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
        }

        return node;
    }

    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray a => string.Join(", ", a.Select(Text)),
        JsonObject o => string.Join(", ", o.Select(kv => $"{kv.Key}={Text(kv.Value)}")),
        _ => node.ToJsonString(),
    };
}
