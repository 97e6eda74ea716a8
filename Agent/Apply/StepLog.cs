using System.Diagnostics;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Journal;
using Deploy.Engine.Agent.Lifecycle;

namespace Deploy.Engine.Agent.Apply;

/// <summary>A step that did not succeed: its name, exit code and output tail go into the report's message.</summary>
public sealed class StepFailedException(StepRecord step, string reason) : Exception(reason)
{
    public StepRecord Step { get; } = step;
}

/// <summary>
/// Times and records each step of a command, writing the journal after every one so a restarted agent knows
/// where it stopped. A failed step throws <see cref="StepFailedException"/>.
/// </summary>
public sealed class StepLog(JournalStore store, ServiceJournal journal)
{

    private readonly List<StepRecord> steps = [];
    private ServiceJournal current = journal;

    public IReadOnlyList<StepRecord> Steps => steps;

    /// <summary>After a failure: whether the release put back passed its health checks (null: nothing was put back).</summary>
    public bool? RestoredHealthy { get; set; }

    public ServiceJournal Journal => current;

    public JournalCommand Command => current.Command!;

    /// <summary>Updates the command in the journal (release directory, computed digest …) and writes it.</summary>
    public void Update(Func<JournalCommand, JournalCommand> change)
    {
        current = current with { Command = change(Command) with { Steps = steps.ToList() } };
        store.Save(current);
    }

    public void UpdateJournal(Func<ServiceJournal, ServiceJournal> change)
    {
        current = change(current);
        store.Save(current);
    }

    /// <summary>Carries over a step the interrupted run already completed.</summary>
    public bool Reuse(string name)
    {
        var done = Command.Steps.LastOrDefault(s => s.Name == name && s.Succeeded);
        if (done is null) return false;
        Add(done);
        return true;
    }

    public void Add(StepRecord step)
    {
        steps.Add(step);
        Update(c => c);
    }

    /// <summary>Runs a step whose work is a process: its exit code is reported.</summary>
    public async Task<ProcessResult> RunAsync(string name, Func<Task<ProcessResult>> work, Func<ProcessResult, string>? describeFailure = null)
    {
        var watch = Stopwatch.StartNew();
        ProcessResult result;
        int? exitCode;
        try
        {
            result = await work();
            exitCode = result.ExitCode;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            result = new ProcessResult(-1, false, e.Message, watch.ElapsedMilliseconds);
            exitCode = null;
        }

        Finish(name, result.Succeeded, exitCode, result, watch, describeFailure);
        return result;
    }

    /// <summary>Runs an in-process step: success unless it throws; the returned text is the step's output.</summary>
    public async Task RunAsync(string name, Func<Task<string?>> work, Func<ProcessResult, string>? describeFailure = null)
    {
        var watch = Stopwatch.StartNew();
        ProcessResult result;
        try
        {
            result = new ProcessResult(0, false, await work() ?? "", 0);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            result = new ProcessResult(-1, false, e.Message, 0);
        }

        Finish(name, result.Succeeded, null, result, watch, describeFailure ?? (r => $"{name} failed: {r.Output}"));
    }

    private void Finish(string name, bool succeeded, int? exitCode, ProcessResult result, Stopwatch watch, Func<ProcessResult, string>? describeFailure)
    {
        var record = new StepRecord
        {
            Name = name,
            Succeeded = succeeded,
            DurationMs = watch.ElapsedMilliseconds,
            ExitCode = exitCode,
            Output = string.IsNullOrEmpty(result.Output) ? null : TailBuffer.Trim(result.Output, ProcessRunner.OutputTail),
        };
        Add(record);
        if (succeeded) return;
        var reason = describeFailure?.Invoke(result)
            ?? $"{name} failed{(exitCode is { } code ? $" (exit {code}{(result.TimedOut ? ", timed out" : "")})" : "")}: {Tail(result.Output, 1200)}";
        throw new StepFailedException(record, reason);
    }

    private static string Tail(string s, int n) => s.Length <= n ? s : "…" + s[^n..];
}
