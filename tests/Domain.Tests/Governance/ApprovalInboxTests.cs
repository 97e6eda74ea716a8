using Deploy.Engine.Domain.Governance;

namespace Deploy.Engine.Domain.Tests.Governance;

/// <summary>The worked example of <see cref="ApprovalInbox"/> and the four-eyes rule of <see cref="SeparationOfDuties"/>.</summary>
public class ApprovalInboxTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Expiry = TimeSpan.FromHours(24);

    private static readonly ApprovalRequirement Team = new(1, ["team"], []);
    private static readonly ApprovalRequirement Critical = new(2, ["cab", "executive"], ["executive"]);

    private static readonly Dictionary<string, string[]> Groups = new()
    {
        ["alice"] = ["team"],
        ["bob"] = ["cab"],
        ["carol"] = ["cab"],
        ["erin"] = ["executive"],
        ["ci"] = ["cab"],
        ["dora"] = ["team"],
        ["viewer"] = [],
    };

    /// <summary>"bob+ carol-": approvals (+) and rejections (-), an hour ago; "alice+@30" 30 hours ago (expired).</summary>
    private static List<ApprovalVote> Votes(string script) => script.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v =>
    {
        var at = v.Split('@');
        var hoursAgo = at.Length > 1 ? double.Parse(at[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        var name = at[0][..^1];
        return new ApprovalVote(name, Groups[name], at[0][^1] == '+' ? VoteDecision.Approve : VoteDecision.Reject,
            Now - TimeSpan.FromHours(hoursAgo), at[0][^1] == '-' ? "not load tested" : null);
    }).ToList();

    public static TheoryData<string, string, ApprovalRequirement, string, bool, string> Table => new()
    {
        { "a team approver, nothing yet", "alice", Team, "", true, "it needs 1 more approval from group team; an approval from 'alice' counts" },
        { "another group does not help", "bob", Team, "", false, "'bob' holds group cab; it needs 1 more approval from group team" },
        { "a key with no approver group", "viewer", Team, "", false, "'viewer' holds no approver group; it needs 1 more approval from group team" },
        { "the submitter never approves", "ci", Critical, "", false, "'ci' submitted release rel-1 and cannot approve it: no self-approval (four eyes)" },
        { "a deployer never approves", "dora", Team, "", false, "'dora' deployed release rel-1 and cannot approve it: no self-approval (four eyes)" },
        { "already satisfied waits for nobody", "dora2", Team, "alice+", false, "approved by alice" },
        { "a rejection waits for nobody", "erin", Critical, "bob-", false, "rejected by bob: not load tested" },
        { "critical, nothing yet: a cab member helps", "carol", Critical, "", true, "it needs 2 more approvals from groups cab or executive, including one from group executive; an approval from 'carol' counts" },
        { "critical, bob approved: another cab member no longer helps", "carol", Critical, "bob+", false, "'carol' holds group cab; it needs 1 more approval from group executive (approved so far by bob)" },
        { "critical, bob approved: erin helps", "erin", Critical, "bob+", true, "it needs 1 more approval from group executive (approved so far by bob); an approval from 'erin' counts" },
        { "critical, bob and carol: only an executive helps", "carol", Critical, "bob+ carol+", false, "'carol' already approved; it needs 1 more approval from group executive (approved so far by bob, carol)" },
        { "critical, bob and carol: a team member does not help", "alice", Critical, "bob+ carol+", false, "'alice' holds group team; it needs 1 more approval from group executive (approved so far by bob, carol)" },
        { "an expired approval is owed again", "alice", Team, "alice+@30", true, "it needs 1 more approval from group team; an approval from 'alice' counts" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Says_whether_an_approval_waits_for_a_key(string example, string actor, ApprovalRequirement requirement, string votes, bool waits, string reason)
    {
        var authors = new ChangeAuthors("ci", ["dora"]);
        var groups = Groups.GetValueOrDefault(actor, ["team"]);
        var wait = ApprovalInbox.For(actor, groups, requirement, Votes(votes), authors, "rel-1", Now, Expiry);
        Assert.True(waits == wait.Waits, example);
        Assert.Equal(reason, wait.Reason);
    }
}
