using Deploy.Engine.Agent.Engine;
using Deploy.Engine.Agent.Journal;
using Deploy.Engine.Agent.Releases;
using Deploy.Engine.Agent.Tests.Support;

namespace Deploy.Engine.Agent.Tests;

public sealed class JournalTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    private static JournalCommand Command(string nonce, bool reported = false, ReportRequest? outcome = null, params string[] steps) => new()
    {
        Nonce = nonce,
        Artifact = "sha256:" + new string('1', 64),
        Version = "1.0.0",
        Rollout = "ro-" + nonce,
        Steps = steps.Select(s => new StepRecord { Name = s, Succeeded = true }).ToList(),
        Outcome = outcome,
        Reported = reported,
    };

    private static ReportRequest Outcome(string nonce) => new()
    {
        Service = "web", Nonce = nonce, Rollout = "ro-" + nonce, Artifact = "sha256:" + new string('1', 64),
        ComputedDigest = "sha256:" + new string('1', 64), Succeeded = true, Healthy = true, Message = "applied",
        Steps = [new StepRecord { Name = "download", Succeeded = true }],
    };

    public static TheoryData<JournalCommand?, string, string, CommandAction> Decisions => new()
    {
        { null, "n1", "Ready", CommandAction.Ignore },
        { null, "n1", "Updating", CommandAction.Execute },
        { null, "n1", "RollingBack", CommandAction.Execute },
        { Command("n0", reported: true), "n1", "Updating", CommandAction.Execute },
        { Command("n1", reported: true), "n1", "Updating", CommandAction.Ignore },
        { Command("n1", outcome: Outcome("n1")), "n1", "Updating", CommandAction.ResendReport },
        { Command("n1", steps: ["download", "verify"]), "n1", "Updating", CommandAction.Resume },
        { Command("n1"), "n1", "Failed", CommandAction.Ignore },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void DecideFromJournalAndDesiredState(JournalCommand? journalled, string nonce, string state, CommandAction expected)
    {
        var journal = new ServiceJournal { Service = "web", Command = journalled };
        var entry = new DesiredEntry { Service = "web", Artifact = "sha256:" + new string('1', 64), Nonce = nonce, State = state, Kind = "Apply" };

        Assert.Equal(expected, JournalDecisions.Decide(journal, entry).Action);
    }

    [Fact]
    public void JournalWritesAreAtomicAndRoundTrip()
    {
        var store = new JournalStore(new AgentPaths(temp.Path));
        var journal = new ServiceJournal { Service = "web", Command = Command("n1", outcome: Outcome("n1"), steps: ["download"]) };

        store.Save(journal);

        var loaded = store.Load("web")!;
        Assert.Equal("n1", loaded.Command!.Nonce);
        Assert.Equal("download", Assert.Single(loaded.Command.Steps).Name);
        Assert.Equal(["web.json"], Directory.GetFiles(Path.Combine(temp.Path, "journal")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AFinishedButUnreportedCommandIsReportedExactlyOnceAndNeverRedone()
    {
        await using var engine = new FakeEngine();
        await engine.StartAsync();
        var store = new JournalStore(new AgentPaths(temp["agent"]));
        store.Save(new ServiceJournal { Service = "web", Command = Command("n1", outcome: Outcome("n1"), steps: ["download"]) });
        store.Save(new ServiceJournal { Service = "api", Command = Command("n2", reported: true, outcome: Outcome("n2") with { Service = "api" }) });
        // The engine still shows both commands as under way.
        engine.SetDesired(
            FakeEngine.Command("web", "sha256:" + new string('1', 64), "1.0.0", "n1"),
            FakeEngine.Command("api", "sha256:" + new string('1', 64), "1.0.0", "n2"));

        await using var agent = await AgentRun.StartAsync(engine, temp["agent"]);
        var report = await engine.ReportFor("n1");
        await Wait.Until(() => store.Load("web")!.Command!.Reported, TimeSpan.FromSeconds(10), "the journal to record the report");
        var polls = engine.Registrations.Count;
        engine.SetDesired(engine.Current().Services.ToArray()); // the same commands again, at a new generation
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two more long-polls' worth: nothing more may happen

        Assert.Equal("applied", report.Message);
        Assert.Single(engine.Reports); // n1 once; n2 (already reported) never
        Assert.Equal(0, engine.ArtifactRequests); // neither command was carried out again
        Assert.True(polls >= 1);
    }

    [Fact]
    public async Task AnInterruptedCommandIsResumedAndReportedOnce()
    {
        await using var engine = new FakeEngine();
        await engine.StartAsync();
        var artifact = SampleArtifacts.Sleeper();
        var digest = TestArchives.Digest(artifact);
        engine.Artifacts[digest] = artifact;
        var store = new JournalStore(new AgentPaths(temp["agent"]));
        // The agent died after journalling the command and its download, before reporting.
        store.Save(new ServiceJournal
        {
            Service = "sleeper",
            Command = Command("n7", steps: ["download"]) with { Artifact = digest, StartedAt = DateTimeOffset.UtcNow },
        });

        await using var agent = await AgentRun.StartAsync(engine, temp["agent"]);
        var report = await engine.ReportFor("n7");

        Assert.True(report.Succeeded, report.Message);
        Assert.Equal(digest, report.ComputedDigest);
        Assert.Contains(report.Steps, s => s.Name == "start");
        await Wait.Until(() => store.Load("sleeper")!.Command!.Reported, TimeSpan.FromSeconds(10), "reported");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Single(engine.Reports);
        Assert.Equal(digest, store.Load("sleeper")!.Current!.Artifact);
    }
}
