using Deploy.Engine.Agent.Engine;

namespace Deploy.Engine.Agent.Journal;

public enum CommandAction
{
    /// <summary>Nothing to do: no command, or its nonce is already answered.</summary>
    Ignore = 0,

    /// <summary>A command the journal has not seen: carry it out.</summary>
    Execute = 1,

    /// <summary>Journalled and begun but not finished (the agent stopped mid-way): finish it from the first step not recorded.</summary>
    Resume = 2,

    /// <summary>Finished, but the engine has not acknowledged the report: send the same report again.</summary>
    ResendReport = 3,
}

public sealed record CommandDecision(CommandAction Action, string Reason);

/// <summary>
/// The pure rules that make commands exactly-once per nonce: a nonce journalled as reported is never carried out
/// again; one journalled but unfinished is resumed, one finished but unreported has its report re-sent.
/// </summary>
public static class JournalDecisions
{
    /// <summary>
    /// What to do with a desired entry. Examples: state Ready → Ignore; Updating with nonce n1 and a journal
    /// reporting n1 → Ignore; journal holding n1 unfinished → Resume; journal holding n0 → Execute.
    /// </summary>
    public static CommandDecision Decide(ServiceJournal? journal, DesiredEntry entry)
    {
        if (!entry.IsCommand) return new(CommandAction.Ignore, $"state {entry.State ?? "none"}: no command to carry out");
        if (journal?.Command is { } c && c.Nonce == entry.Nonce) return OnRestart(journal) is { Action: not CommandAction.Ignore } d
            ? d
            : new(CommandAction.Ignore, $"command {c.Nonce} was already carried out and reported");
        return new(CommandAction.Execute, $"new command {entry.Nonce} ({entry.CommandKind} {entry.Artifact})");
    }

    /// <summary>What a starting agent owes the engine for the command its journal holds.</summary>
    public static CommandDecision OnRestart(ServiceJournal? journal) => journal?.Command switch
    {
        null => new(CommandAction.Ignore, "no command journalled"),
        { Reported: true } c => new(CommandAction.Ignore, $"command {c.Nonce} already reported"),
        { Outcome: not null } c => new(CommandAction.ResendReport, $"command {c.Nonce} finished but its report was not acknowledged"),
        var c => new(CommandAction.Resume, $"command {c.Nonce} was interrupted after {c.Steps.Count} step(s)"),
    };
}
