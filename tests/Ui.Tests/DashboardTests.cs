using System.Net;
using System.Text.Json.Nodes;
using Deploy.Engine.Ui.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Deploy.Engine.Ui.Tests;

/// <summary>
/// The dashboard at /ui in a real chromium against the real engine on a loopback port: what an operator or a viewer
/// sees and can do, with the page's console watched for errors.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardFixture fixture)
{
    private static readonly float Timeout = 30_000;

    [ChromiumFact]
    public async Task Rollout_page_follows_a_simulated_rollout_live_without_a_reload()
    {
        using var api = fixture.Api();
        var rollout = await PausedCanary(api, "live", hosts: 30);
        var (page, errors) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);
        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");

        var onNewVersion = page.Locator("ul.legend li[data-state=updated] .count");
        await Expect(onNewVersion, "6");
        await Expect(page.Locator(".rollout-head .badge"), "Paused");
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };

        // The rollout goes on outside the page (another operator, over the API): the page follows it on its own.
        await api.PostJson($"/v1/rollouts/{rollout}/promote", new { reason = "promoted over the API" }).Expect(HttpStatusCode.OK);

        await Expect(page.Locator(".rollout-head .badge"), "Succeeded");
        await Expect(onNewVersion, "30");
        await Expect(page.Locator("ul.legend li[data-state=pending] .count"), "0");
        await Expect(page.Locator("table.decisions"), "promoted over the API", exact: false);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        Assert.Equal(0, navigations);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task Rollout_page_updates_from_the_event_stream_alone()
    {
        using var api = fixture.Api();
        var rollout = await PausedCanary(api, "stream", hosts: 10);
        var (page, _) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);
        // Every read of the rollout's event history fails: whatever the page learns after it opens comes by the stream.
        var historyReads = 0;
        await page.RouteAsync(new System.Text.RegularExpressions.Regex("/v1/rollouts/[^/?]+/events"), async route =>
        {
            Interlocked.Increment(ref historyReads);
            await route.AbortAsync();
        });
        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");
        await Expect(page.Locator(".rollout-head .badge"), "Paused");
        await Assertions.Expect(page.Locator("span.live")).ToHaveAttributeAsync("data-transport", "stream", new() { Timeout = Timeout });

        await api.PostJson($"/v1/rollouts/{rollout}/promote", new { reason = "promoted while the history is unreachable" }).Expect(HttpStatusCode.OK);

        await Expect(page.Locator(".rollout-head .badge"), "Succeeded");
        await Expect(page.Locator("ul.legend li[data-state=updated] .count"), "10");
        Assert.True(await page.Locator("ol.events li[data-via=stream]").CountAsync() > 0, "no event arrived by the stream");
        Assert.Equal(0, await page.Locator("ol.events li[data-via=poll]").CountAsync());
        // The history was read once, when the page opened; never polled while the stream was up.
        Assert.Equal(1, Volatile.Read(ref historyReads));
        Assert.Equal("stream", await page.Locator("span.live").GetAttributeAsync("data-transport"));
    }

    [ChromiumFact]
    public async Task Rollout_page_polls_the_history_while_the_stream_is_down()
    {
        using var api = fixture.Api();
        var rollout = await PausedCanary(api, "nostream", hosts: 10);
        var (page, _) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);
        await page.RouteAsync(new System.Text.RegularExpressions.Regex("/v1/events/stream"), route => route.AbortAsync());
        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");
        await Assertions.Expect(page.Locator("span.live")).ToHaveAttributeAsync("data-transport", "polling", new() { Timeout = Timeout });
        await Expect(page.Locator(".rollout-head .badge"), "Paused");

        await api.PostJson($"/v1/rollouts/{rollout}/promote", new { reason = "promoted while the stream is down" }).Expect(HttpStatusCode.OK);

        await Expect(page.Locator(".rollout-head .badge"), "Succeeded");
        await Expect(page.Locator("ul.legend li[data-state=updated] .count"), "10");
        await Expect(page.Locator("table.decisions"), "promoted while the stream is down", exact: false);
        Assert.True(await page.Locator("ol.events li[data-via=poll]").CountAsync() > 0, "no event arrived by polling");
    }

    [ChromiumFact]
    public async Task Governance_lists_the_approvals_waiting_for_the_key_and_approves_from_the_page()
    {
        using var api = fixture.Api();
        using var approver = fixture.Api(DashboardFixture.ApproverKey);
        var service = TestHttp.Unique("gov");
        var production = TestHttp.Unique("prod");
        await api.PutAsync(new Uri($"/v1/environments/{production}/declaration", UriKind.Relative),
            new StringContent("""{"tier":"production"}""", System.Text.Encoding.UTF8, "application/json")).Expect(HttpStatusCode.OK);
        await api.PostJson($"/v1/environments/{production}/simulated-hosts", new
        {
            count = 2, idPrefix = production, stepLatencyMs = 20, currentArtifact = TestHttp.Digest("shop-1.0.0"), currentVersion = "1.0.0",
        }).Expect(HttpStatusCode.Created);
        var change = TestHttp.Unique("chg");
        await approver.PostJson("/v1/change-records", new { id = change, title = "governed change", state = "approved", service, end = DateTimeOffset.UtcNow.AddDays(1) })
            .Expect(HttpStatusCode.Created);
        var release = (string)(await api.PostJson("/v1/releases", new { service, version = "2.0.0", artifact = TestHttp.Digest("shop-2.0.0"), changeRecord = change })
            .Expect(HttpStatusCode.Created))["id"]!;
        var rollout = (string)(await api.PostJson("/v1/rollouts", new { releaseId = release, environment = production }).Expect(HttpStatusCode.Created))["id"]!;
        await api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "AwaitingApproval");

        var (page, errors) = await Open(DashboardFixture.ApproverKey, DashboardFixture.ApproverName);
        await page.GotoAsync($"{fixture.Url}ui/#/governance");
        var card = page.Locator($"article.approval[data-rollout='{rollout}']");
        await Expect(card, "an approval from 'quinn' counts", exact: false);
        // The change records are listed, not only looked up by id.
        await Expect(page.Locator($"table.records tr[data-record='{change}']"), "governed change", exact: false);

        await card.Locator("button[data-action=approve]").ClickAsync();
        await page.Locator("#reason-input").FillAsync("risk reviewed");
        await page.Locator("dialog button[type=submit]").ClickAsync();
        await Expect(page.Locator(".message-ok"), "approve recorded", exact: false);
        await api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] is "Progressing" or "Succeeded", TimeSpan.FromSeconds(60));
        await Assertions.Expect(card).ToHaveCountAsync(0, new() { Timeout = Timeout });
        Assert.Empty(errors);

        // The operator (no approver role) is told nothing waits for it.
        var (operatorPage, _) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);
        await operatorPage.GotoAsync($"{fixture.Url}ui/#/governance");
        await Expect(operatorPage.Locator("#approvals-title + *"), "holds no approver role", exact: false);
    }

    [ChromiumFact]
    public async Task Promote_from_the_page_records_the_reason_and_the_keys_name_in_the_audit_trail()
    {
        using var api = fixture.Api();
        var rollout = await PausedCanary(api, "promote", hosts: 10);
        var (page, errors) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);
        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");

        var reason = "canary looks normal " + Guid.NewGuid().ToString("n")[..6];
        await page.Locator("button[data-action=promote]").ClickAsync();
        await page.Locator("#reason-input").FillAsync(reason);
        await page.Locator("dialog button[type=submit]").ClickAsync();

        await Expect(page.Locator(".message-ok"), "promote recorded", exact: false);
        await Expect(page.Locator("table.decisions"), reason, exact: false);
        // The audit trail is written from the rollout's event stream, a moment after the answer.
        var audit = await api.WaitFor($"/v1/audit?principal={DashboardFixture.OperatorName}&limit=1000",
            a => a["items"]!.AsArray().Any(e => ((string?)e!["reason"])?.Contains(reason, StringComparison.Ordinal) == true), TimeSpan.FromSeconds(30));
        var entry = audit["items"]!.AsArray().Single(e => ((string?)e!["reason"])?.Contains(reason, StringComparison.Ordinal) == true);
        Assert.Equal(DashboardFixture.OperatorName, (string?)entry!["principal"]);
        Assert.Contains("promote", (string?)entry["action"], StringComparison.OrdinalIgnoreCase);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task A_viewer_sees_no_action_buttons_and_a_forced_action_shows_the_403()
    {
        using var api = fixture.Api();
        var rollout = await PausedCanary(api, "viewer", hosts: 4);
        var (page, _) = await Open(DashboardFixture.ViewerKey, DashboardFixture.ViewerName);
        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");

        await Expect(page.Locator(".rollout-head .badge"), "Paused");
        await Expect(page.Locator(".actions"), "This key can read only", exact: false);
        Assert.Equal(0, await page.Locator("button[data-action]").CountAsync());

        // The page's own action path, called as a curious viewer would from the console.
        await page.EvaluateAsync("() => window.dashboard.act('promote', 'forced by a viewer')");
        await Expect(page.Locator(".message-error"), "403", exact: false);
        var after = await api.GetAsync(new Uri($"/v1/rollouts/{rollout}", UriKind.Relative)).Expect(HttpStatusCode.OK);
        Assert.Equal("Paused", (string?)after["status"]);
    }

    [ChromiumFact]
    public async Task Every_page_renders_without_a_console_error()
    {
        using var api = fixture.Api();
        var (rollout, analysis) = await JudgedCanary(api);
        var (page, errors) = await Open(DashboardFixture.OperatorKey, DashboardFixture.OperatorName);

        await page.GotoAsync($"{fixture.Url}ui/#/");
        await Expect(page.Locator("section.env h3").Filter(new() { HasText = EnvironmentOf(rollout) }), EnvironmentOf(rollout), exact: false);

        await page.GotoAsync($"{fixture.Url}ui/#/rollout/{rollout}");
        await Expect(page.Locator(".rollout-head .badge"), "Succeeded");
        Assert.Equal(1, await page.Locator("canvas.hostmap").CountAsync());

        await page.GotoAsync($"{fixture.Url}ui/#/analysis/{analysis}");
        var metric = page.Locator("section.metric").First;
        await Expect(metric, "p-value", exact: false);
        Assert.Equal(2, await metric.Locator("svg.ecdf path").CountAsync());
        await Expect(page.Locator("[data-testid=score]"), "Pass", exact: false);

        await page.GotoAsync($"{fixture.Url}ui/#/governance");
        await page.Locator("button[data-action=verify]").ClickAsync();
        await Expect(page.Locator(".verify"), "valid", exact: false);
        await Expect(page.Locator("table.audit"), DashboardFixture.OperatorName, exact: false);
        await Expect(page.Locator("[data-testid=dora]"), "DORA", exact: false);

        // Keyboard: the sign-out button and the nav are reachable with Tab.
        await page.Keyboard.PressAsync("Tab");
        Assert.Empty(errors);
    }

    private async Task<(IPage Page, List<string> Errors)> Open(string key, string name)
    {
        var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") errors.Add($"console: {message.Text} ({message.Location})");
        };
        page.PageError += (_, error) => errors.Add($"page error: {error}");
        await page.GotoAsync($"{fixture.Url}ui");
        await page.Locator("#key-input").FillAsync(key);
        await page.Locator("form.signin button[type=submit]").ClickAsync();
        await Expect(page.Locator("#who"), name, exact: false);
        return (page, errors);
    }

    private static Task Expect(ILocator locator, string text, bool exact = true) =>
        Assertions.Expect(locator).ToHaveTextAsync(exact ? new System.Text.RegularExpressions.Regex($"^\\s*{System.Text.RegularExpressions.Regex.Escape(text)}\\s*$") : new System.Text.RegularExpressions.Regex(System.Text.RegularExpressions.Regex.Escape(text)),
            new() { Timeout = Timeout });

    private static string EnvironmentOf(string rollout) => rollout[(rollout.LastIndexOf('.') + 1)..];

    /// <summary>A canary at 20% of the hosts, paused until someone promotes it.</summary>
    private static async Task<string> PausedCanary(HttpClient api, string prefix, int hosts)
    {
        var environment = await Fleet(api, prefix, hosts, metrics: null);
        var release = await Release(api);
        var rollout = (string)(await api.PostJson("/v1/rollouts", new
        {
            releaseId = release,
            environment,
            strategy = new { type = "canary", steps = new object[] { new { setWeight = 20 }, new { pause = new { } } } },
        }).Expect(HttpStatusCode.Created))["id"]!;
        await api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] == "Paused");
        return rollout;
    }

    /// <summary>A canary judged on error rate (the new version as good as the old), run to success.</summary>
    private static async Task<(string Rollout, string Analysis)> JudgedCanary(HttpClient api)
    {
        var environment = await Fleet(api, "judged", 10, metrics: new Dictionary<string, object>
        {
            ["1.0.0"] = new { errorRatePercent = 1.0, p99LatencyMs = 120.0 },
            ["2.0.0"] = new { errorRatePercent = 1.0, p99LatencyMs = 118.0 },
        });
        var release = await Release(api);
        var rollout = (string)(await api.PostJson("/v1/rollouts", new
        {
            releaseId = release,
            environment,
            strategy = new
            {
                type = "canary",
                steps = new object[]
                {
                    new { setWeight = 50 },
                    new { analysis = new { durationSeconds = 2, judge = new { metrics = new object[] { new { name = "errorRatePercent", direction = "increase" } } } } },
                },
            },
        }).Expect(HttpStatusCode.Created))["id"]!;
        var done = await api.WaitFor($"/v1/rollouts/{rollout}", r => (string?)r["status"] is "Succeeded" or "RolledBack" or "Failed" or "Paused", TimeSpan.FromSeconds(60));
        Assert.Equal("Succeeded", (string?)done["status"]);
        return (rollout, (string)done["analyses"]!.AsArray()[0]!);
    }

    private static async Task<string> Fleet(HttpClient api, string prefix, int hosts, Dictionary<string, object>? metrics)
    {
        var environment = TestHttp.Unique(prefix);
        await api.PutJson($"/v1/environments/{environment}", new { concurrencyLimit = 2 }).Expect(HttpStatusCode.OK);
        await api.PostJson($"/v1/environments/{environment}/simulated-hosts", new
        {
            count = hosts,
            idPrefix = environment,
            stepLatencyMs = 150,
            currentArtifact = TestHttp.Digest("shop-1.0.0"),
            currentVersion = "1.0.0",
            metrics,
        }).Expect(HttpStatusCode.Created);
        return environment;
    }

    private static async Task<string> Release(HttpClient api) =>
        (string)(await api.PostJson("/v1/releases", new { service = "shop", version = "2.0.0", artifact = TestHttp.Digest("shop-2.0.0") })
            .Expect(HttpStatusCode.Created))["id"]!;
}
