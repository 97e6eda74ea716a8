using System.Threading.Channels;
using Deploy.Engine.Agent.Apply;
using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Journal;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Agent.Workers;

/// <summary>
/// One service's command loop: at most one command at a time for the service, independent of every other service.
/// It holds only the latest desired entry offered (an older one still waiting is superseded), decides through
/// <see cref="JournalDecisions"/> whether it is new, and re-sends the report until the engine acknowledges it.
/// </summary>
public sealed partial class ServiceWorker(
    string service,
    ApplyPipeline pipeline,
    JournalStore journals,
    EngineClient engine,
    Func<CancellationToken, Task> reRegister,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Wakes the loop; wakes that arrive while it is busy coalesce (the loop reads what changed under <see cref="gate"/>).</summary>
    private readonly Channel<bool> signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock gate = new();
    private DesiredEntry? latest;
    private bool recover;

    public string Service { get; } = service;

    /// <summary>Offers the latest desired entry; returns at once.</summary>
    public void Offer(DesiredEntry entry)
    {
        lock (gate) latest = entry;
        signal.Writer.TryWrite(true);
    }

    /// <summary>Asks the loop to finish (or report) what the journal says an earlier agent left undone.</summary>
    public void Recover()
    {
        lock (gate) recover = true;
        signal.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await signal.Reader.ReadAsync(ct);
            DesiredEntry? entry;
            bool recovering;
            lock (gate)
            {
                (entry, latest) = (latest, null);
                (recovering, recover) = (recover, false);
            }

            try
            {
                if (recovering) await HandleAsync(JournalDecisions.OnRestart(journals.Load(Service)), null, ct);
                if (entry is not null) await HandleAsync(JournalDecisions.Decide(journals.Load(Service), entry), entry, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogCommandError(logger, Service, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), time, ct);
                lock (gate) recover = true;
                signal.Writer.TryWrite(true);
            }
        }
    }

    private async Task HandleAsync(CommandDecision decision, DesiredEntry? entry, CancellationToken ct)
    {
        var journal = journals.Load(Service) ?? new ServiceJournal { Service = Service };
        switch (decision.Action)
        {
            case CommandAction.Ignore:
                return;
            case CommandAction.Execute:
                LogDecision(logger, Service, decision.Reason);
                journal = journal with { Command = JournalCommand.From(entry!, journal.Current?.Directory, time.GetUtcNow()) };
                journals.Save(journal);
                journal = await pipeline.RunAsync(journal, ct);
                break;
            case CommandAction.Resume:
                LogDecision(logger, Service, decision.Reason);
                journal = await pipeline.RunAsync(journal, ct);
                break;
            case CommandAction.ResendReport:
                LogDecision(logger, Service, decision.Reason);
                break;
        }

        await ReportAsync(journal, ct);
    }

    /// <summary>Sends the journalled report until the engine acknowledges it (2xx, or 409: it has moved on).</summary>
    private async Task ReportAsync(ServiceJournal journal, CancellationToken ct)
    {
        var report = journal.Command?.Outcome;
        if (report is null || journal.Command!.Reported) return;
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            ReportOutcome outcome;
            try
            {
                outcome = await engine.ReportAsync(report, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogReportRetry(logger, Service, report.Nonce, e.Message);
                outcome = ReportOutcome.RetryLater;
            }

            if (outcome is ReportOutcome.Acknowledged or ReportOutcome.Superseded or ReportOutcome.Refused)
            {
                if (outcome == ReportOutcome.Refused) LogReportRefused(logger, Service, report.Nonce);
                var latestJournal = journals.Load(Service) ?? journal;
                journals.Save(latestJournal with { Command = latestJournal.Command! with { Reported = true } });
                LogReported(logger, Service, report.Nonce, report.Succeeded, outcome);
                return;
            }

            if (outcome == ReportOutcome.Unregistered) await reRegister(ct);
            await Task.Delay(delay, time, ct);
            delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Reason}")]
    private static partial void LogDecision(ILogger logger, string service, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: report for command {Nonce} (succeeded: {Succeeded}) {Outcome}")]
    private static partial void LogReported(ILogger logger, string service, string nonce, bool succeeded, ReportOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: report for command {Nonce} not delivered, retrying: {Reason}")]
    private static partial void LogReportRetry(ILogger logger, string service, string nonce, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service {Service}: the engine refused the report for command {Nonce} as invalid; it will not be re-sent")]
    private static partial void LogReportRefused(ILogger logger, string service, string nonce);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service {Service}: command handling failed, retrying from the journal: {Reason}")]
    private static partial void LogCommandError(ILogger logger, string service, string reason);
}
