using Deploy.Engine.Domain.Rollouts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Grains.Tests.Infrastructure;
using static Deploy.Engine.Grains.Tests.Infrastructure.Fleet;

namespace Deploy.Engine.Grains.Tests.Governance;

/// <summary>The change process end to end in the cluster: approvals, change records, reviews, class workflows.</summary>
[Collection(ClusterCollection.Name)]
public class GovernanceGateTests(ClusterFixture fixture)
{
    /// <summary>A service of this test's own: reviews and failure history of other tests' services do not leak in.</summary>
    private readonly string _service = Unique("shop");

    private IGrainFactory Grains => fixture.Grains;

    private async Task<string> ChangeRecord(string state, string? service = null)
    {
        var id = Unique("CHG");
        var created = await Grains.GetGrain<IChangeRecordGrain>(id).Create(new ChangeRecordCommand
        {
            Title = "test change", State = state, Actor = "olga", Service = service ?? _service, End = DateTimeOffset.UtcNow.AddDays(1),
        });
        Assert.True(created.Ok, created.Detail);
        return id;
    }

    private async Task<string> Release(string service, string version, string? changeRecord, string releaseClass = "standard")
    {
        var id = Unique("rel");
        var result = await Grains.GetGrain<IReleaseGrain>(id).Create(new ReleaseDraft
        {
            Service = service,
            Version = version,
            Artifact = Digest(version),
            SubmittedBy = "test-pipeline",
            Class = releaseClass,
            ChangeRecord = changeRecord,
            KnownIssues = [new KnownIssue { Issue = "slow first request", Workaround = "warm the cache" }],
        });
        Assert.True(result.Ok, result.Detail);
        return id;
    }

    private Task<CommandResult<ReleaseSnapshot>> Vote(string release, string environment, string approver, bool approve, string? reason = null) =>
        Grains.GetGrain<IReleaseGrain>(release).Vote(new ApprovalCommand { Environment = environment, Approve = approve, Reason = reason, Actor = approver, Role = "approver" });

    private Task<CommandResult<RolloutSnapshot>> Start(string release, string environment) =>
        Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, environment)).Start(new RolloutDraft
        {
            ReleaseId = release, Environment = environment, Strategy = new RolloutStrategySpec(), SubmittedBy = "test-pipeline",
        });

    [Fact]
    public async Task A_rollout_to_a_protected_environment_awaits_approval_from_the_right_group_then_runs()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        var hosts = await CreateEnvironment(Grains, env, 3);
        var release = await Release(_service, "2.0.0", await ChangeRecord("approved"));

        var started = await StartRollout(Grains, release, env);
        var waiting = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        // protected 3 + all hosts 2 + first deploy 1 = 6: high risk, one approval from the change-advisory board.
        Assert.Contains("approval: needs 1 more approval from group cab (standard release, high risk", waiting.HeldBy);
        Assert.Contains("needs 1 more approval from group cab", waiting.StatusReason);

        var view = await Grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(release, env);
        Assert.NotNull(view);
        Assert.Equal("high", view.Risk);
        Assert.Equal(["approval", "change-record"], view.RequiredGates);
        Assert.Contains("3: environment '" + env + "' is protected", view.Reasons);
        Assert.Equal("approved", view.ChangeRecordState);
        Assert.Equal("slow first request", Assert.Single(view.KnownIssues).Issue);
        Assert.Contains(view.Blocking, b => b.StartsWith("approval: needs 1 more approval from group cab", StringComparison.Ordinal));

        // A team approver is not the authority for a high-risk release: still waiting.
        Assert.True((await Vote(release, env, "alice", approve: true)).Ok);
        await Task.Delay(1500);
        var still = await Grains.GetGrain<IRolloutGrain>(started.Id).Get();
        Assert.Equal(RolloutStatus.AwaitingApproval, still!.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));

        Assert.True((await Vote(release, env, "bob", approve: true, "reviewed the plan")).Ok);
        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.Succeeded, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("2.0.0", h.CurrentVersion));

        // Now the service has a previous version to return to: no first-deploy point, medium risk, a team approval.
        var after = await Grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(release, env);
        Assert.Equal("medium", after!.Risk);
        Assert.Equal("satisfied", after.ApprovalState);
        Assert.Equal(["alice"], after.ApprovedBy);
        Assert.Contains(after.IgnoredVotes, v => v.StartsWith("bob: holds group cab, not group team", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejection_with_its_reason_aborts_the_waiting_rollout_without_touching_a_host()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        var hosts = await CreateEnvironment(Grains, env, 2);
        var release = await Release(_service, "2.0.0", await ChangeRecord("approved"));
        var started = await StartRollout(Grains, release, env);
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);

        Assert.True((await Vote(release, env, "bob", approve: false, "no load test")).Ok);

        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.Aborted, done.Status);
        Assert.Contains("rejected by bob: no load test", done.StatusReason);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));

        // The rejection is an event naming who rejected it and for which environment (the audit trail records it).
        var events = await History(Grains, GrainKeys.ReleaseEvents(release), e => e.Any(x => x.Type == EventTypes.ApprovalRejected));
        var rejected = events.Single(e => e.Type == EventTypes.ApprovalRejected);
        Assert.Equal("bob", rejected.Data["actor"]);
        Assert.Equal(env, rejected.Data["environment"]);
    }

    [Fact]
    public async Task A_rejection_while_the_rollout_runs_holds_it_at_the_next_step_boundary_until_an_operator_rolls_it_back()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 400);
        var release = await Release(_service, "2.0.0", await ChangeRecord("approved"));
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        Assert.True((await Vote(release, env, "bob", approve: true)).Ok);
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Progressing);

        Assert.True((await Vote(release, env, "alice", approve: false, "customer data migration not signed off")).Ok);

        var held = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Paused);
        Assert.Contains("approval: ", held.HeldBy);
        Assert.Contains("rejected by alice: customer data migration not signed off", held.HeldBy);
        Assert.Contains("roll it back or abort it", held.HeldBy);
        await Task.Delay(1500); // reconcile ticks pass: the hold stands, no host beyond the held step changes
        var still = await Grains.GetGrain<IRolloutGrain>(started.Id).Get();
        Assert.Equal(RolloutStatus.Paused, still!.Status);
        var updated = (await HostsOf(Grains, hosts)).Count(h => h.CurrentVersion == "2.0.0");
        Assert.InRange(updated, 1, 3);

        var rollback = await Grains.GetGrain<IRolloutGrain>(started.Id).Rollback(new OperatorAction { Actor = "olga", Reason = "rejected", Role = "operator" });
        Assert.True(rollback.Ok, rollback.Detail);
        var done = await WaitFor(Grains, started.Id);
        Assert.Equal(RolloutStatus.RolledBack, done.Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));
    }

    [Fact]
    public async Task A_change_record_rejected_while_the_rollout_runs_holds_it_at_the_next_step_boundary_and_approving_it_again_lets_it_go_on()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        var hosts = await CreateEnvironment(Grains, env, 4, latencyMs: 400);
        var record = await ChangeRecord("approved");
        var release = await Release(_service, "2.0.0", record);
        var started = await StartRollout(Grains, release, env, new RolloutStrategySpec { Preset = "OneAtATime" });
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        Assert.True((await Vote(release, env, "bob", approve: true)).Ok);
        await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Progressing);

        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(record).SetState(new ChangeRecordCommand { State = "rejected", Actor = "bob", Reason = "CAB withdrew it" })).Ok);

        var held = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.Paused);
        Assert.Contains($"change-record: change record {record} is rejected; held here: roll it back or abort it", held.HeldBy);
        await Task.Delay(1500);
        Assert.Equal(RolloutStatus.Paused, (await Grains.GetGrain<IRolloutGrain>(started.Id).Get())!.Status);
        Assert.InRange((await HostsOf(Grains, hosts)).Count(h => h.CurrentVersion == "2.0.0"), 1, 3);

        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(record).SetState(new ChangeRecordCommand { State = "approved", Actor = "bob" })).Ok);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Id, timeout: TimeSpan.FromSeconds(90))).Status);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("2.0.0", h.CurrentVersion));
    }

    [Fact]
    public async Task A_change_record_approved_for_another_service_or_release_does_not_let_a_release_through()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        await CreateEnvironment(Grains, env, 1);
        var otherService = await ChangeRecord("approved", Unique("cart"));
        var release = await Release(_service, "2.0.0", otherService);
        var refused = await Start(release, env);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains($"change record {otherService} is for service 'cart-", refused.Detail);

        var forAnother = Unique("CHG");
        Assert.True((await Grains.GetGrain<IChangeRecordGrain>(forAnother).Create(new ChangeRecordCommand
        {
            State = "approved", Actor = "olga", Service = _service, Release = "rel-someone-else", End = DateTimeOffset.UtcNow.AddDays(1),
        })).Ok);
        var second = await Release(_service, "2.0.1", forAnother);
        var refusedToo = await Start(second, env);
        Assert.Equal(ErrorKind.PolicyRefused, refusedToo.Error);
        Assert.Contains($"change record {forAnother} is for release rel-someone-else, not {second}", refusedToo.Detail);
    }

    [Fact]
    public async Task Self_approval_and_approval_by_a_non_approver_are_refused_and_nothing_is_recorded()
    {
        var release = await Release(_service, "2.0.0", null);

        var self = await Vote(release, "gov-x", "test-pipeline", approve: true);
        Assert.Equal(ErrorKind.PolicyRefused, self.Error);
        Assert.Contains("cannot approve it: no self-approval", self.Detail);

        var stranger = await Vote(release, "gov-x", "mallory", approve: true);
        Assert.Equal(ErrorKind.PolicyRefused, stranger.Error);
        Assert.Contains("'mallory' is not a designated approver", stranger.Detail);

        Assert.Empty((await Grains.GetGrain<IReleaseGrain>(release).Get())!.Approvals);
    }

    [Theory]
    [InlineData("pending", "change record {0} is pending, not approved")]
    [InlineData("rejected", "change record {0} is rejected")]
    [InlineData(null, "change record {0} is unknown")]
    public async Task An_unapproved_or_unknown_change_record_refuses_the_rollout_and_stores_nothing(string? state, string reason)
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        await CreateEnvironment(Grains, env, 1);
        var record = state is null ? Unique("CHG") : await ChangeRecord(state);
        var release = await Release(_service, "2.0.0", record);

        var result = await Start(release, env);

        Assert.Equal(ErrorKind.PolicyRefused, result.Error);
        Assert.Contains("change-record: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, reason, record), result.Detail);
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(release, env)).Get());

        if (state is not null)
        {
            // Approved in the store: the same release is accepted (and waits for its approval).
            Assert.True((await Grains.GetGrain<IChangeRecordGrain>(record).SetState(new ChangeRecordCommand { State = "approved", Actor = "olga" })).Ok);
            var accepted = await Start(release, env);
            Assert.True(accepted.Ok, accepted.Detail);
            Assert.Contains("needs 1 more approval", (await WaitFor(Grains, accepted.Value!.Id, r => r.Status == RolloutStatus.AwaitingApproval)).HeldBy);
        }
    }

    [Fact]
    public async Task A_release_without_a_change_record_is_refused_in_a_protected_environment_only()
    {
        var prot = Unique(GovernanceSettings.ProtectedPrefix);
        var open = Unique("open");
        await CreateEnvironment(Grains, prot, 1);
        await CreateEnvironment(Grains, open, 1);
        var release = await Release(_service, "2.0.0", null);

        var refused = await Start(release, prot);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains("declares no change record", refused.Detail);

        var accepted = await Start(release, open);
        Assert.True(accepted.Ok, accepted.Detail);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, accepted.Value!.Id)).Status);
    }

    [Fact]
    public async Task A_rolled_back_rollout_opens_a_review_that_blocks_the_next_major_release_until_filed()
    {
        var service = Unique("svc");
        var env = Unique("pir");
        await CreateEnvironment(Grains, env, 2, failureByVersion: new Dictionary<string, double> { ["6.6.6"] = 1.0 });
        var bad = await Release(service, "6.6.6", null);
        var failed = await WaitFor(Grains, (await StartRollout(Grains, bad, env)).Id);
        Assert.Equal(RolloutStatus.RolledBack, failed.Status);

        var book = Grains.GetGrain<IReviewBookGrain>(service);
        var review = await Eventually(async () => (await book.List()).SingleOrDefault());
        Assert.Equal(GrainKeys.Review(failed.Id), review.Id);
        Assert.Equal("open", review.State);
        Assert.Equal("RolledBack", review.Outcome);

        var major = await Release(service, "7.0.0", null, "major");
        var refused = await Start(major, env);
        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains($"pir-clear: post-implementation review {review.Id}", refused.Detail);
        Assert.Null(await Grains.GetGrain<IRolloutGrain>(GrainKeys.Rollout(major, env)).Get());

        // The governance view names the open review, and counts it in the failure history.
        var view = await Grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(major, env);
        Assert.Equal([review.Id], view!.OpenReviews);
        Assert.Contains("1: 1 failed or rolled-back rollout of the service recently", view.Reasons);

        var filed = await book.File(review.Id, new ReviewFiling { Findings = "bad build", RootCause = "missing migration", Actions = ["add a migration check"], Actor = "olga" });
        Assert.True(filed.Ok, filed.Detail);
        Assert.Equal(ErrorKind.InvalidTransition, (await book.File(review.Id, new ReviewFiling { Findings = "x", RootCause = "y", Actor = "olga" })).Error);

        var accepted = await Start(major, env);
        Assert.True(accepted.Ok, accepted.Detail);
        // Filed reviews still count as the service's recent failures.
        var afterFiling = await Grains.GetGrain<IGovernanceGrain>(GrainKeys.Governance).Evaluate(major, env);
        Assert.Empty(afterFiling!.OpenReviews);
        Assert.Contains("1: 1 failed or rolled-back rollout of the service recently", afterFiling.Reasons);
    }

    [Fact]
    public async Task A_major_release_waits_for_its_approval_and_every_readiness_sign_off()
    {
        var env = Unique(GovernanceSettings.ProtectedPrefix);
        var hosts = await CreateEnvironment(Grains, env, 2);
        var release = await Release(_service, "3.0.0", await ChangeRecord("approved"), "major");
        var started = await StartRollout(Grains, release, env);

        var waiting = await WaitFor(Grains, started.Id, r => r.Status == RolloutStatus.AwaitingApproval);
        Assert.Contains("approval: needs 1 more approval from group cab (major release, high risk", waiting.HeldBy);
        Assert.Contains("readiness-review: readiness review incomplete: no sign-off yet for operations, security, business", waiting.HeldBy);

        Assert.True((await Vote(release, env, "bob", approve: true)).Ok);
        var grain = Grains.GetGrain<IReleaseGrain>(release);
        var unknown = await grain.SignOff(new ReadinessCommand { Item = "astrology", Actor = "olga" });
        Assert.Equal(ErrorKind.Validation, unknown.Error);
        // A different person per item: one key signing a second item is refused.
        Assert.True((await grain.SignOff(new ReadinessCommand { Item = "operations", Actor = "olga" })).Ok);
        Assert.Equal(ErrorKind.PolicyRefused, (await grain.SignOff(new ReadinessCommand { Item = "security", Actor = "olga" })).Error);
        Assert.True((await grain.SignOff(new ReadinessCommand { Item = "security", Actor = "oscar" })).Ok);

        var stillWaiting = await WaitFor(Grains, started.Id, r => r.HeldBy?.StartsWith("readiness-review", StringComparison.Ordinal) == true);
        Assert.Equal("readiness-review: readiness review incomplete: no sign-off yet for business (POST /v1/releases/" + release + "/readiness)", stillWaiting.HeldBy);
        Assert.All(await HostsOf(Grains, hosts), h => Assert.Equal("1.0.0", h.CurrentVersion));

        Assert.True((await grain.SignOff(new ReadinessCommand { Item = "Business", SignedOffBy = "sales-director", Actor = "sue" })).Ok);
        Assert.Equal(RolloutStatus.Succeeded, (await WaitFor(Grains, started.Id)).Status);
    }

    [Fact]
    public async Task An_emergency_release_may_not_use_a_plain_rolling_update()
    {
        var env = Unique("open");
        await CreateEnvironment(Grains, env, 1);
        var release = await Release(_service, "2.0.1", null, "emergency");

        var refused = await Start(release, env);

        Assert.Equal(ErrorKind.PolicyRefused, refused.Error);
        Assert.Contains("workflow: a emergency release may not use the rolling strategy; allowed: canary", refused.Detail);
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> probe)
        where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value) return value;
            await Task.Delay(50);
        }

        Assert.Fail("the condition did not hold in time");
        return null!;
    }
}
