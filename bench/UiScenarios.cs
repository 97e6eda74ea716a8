using Microsoft.Playwright;

namespace Deploy.Engine.Bench;

/// <summary>
/// The dashboard's host map in a real chromium (Debian's, through Playwright): one draw of 10,000 hosts in mixed
/// states, rasterised (getImageData of one pixel waits for the canvas to be painted), against an empty draw of the
/// same canvas (clear, one full-size fill, the same read-back) measured in the same page. Each repetition is the
/// mean of <see cref="DrawsPerSample"/> draws timed together (the browser's clock is coarse, 0.1 ms), with 200 hosts
/// changing state before each draw as a live rollout does; the figure is the median of the repetitions.
/// Run only when asked (--only ui): it needs /usr/bin/chromium.
/// </summary>
public sealed class UiScenarios(Options options, Report report)
{
    private const int Hosts = 10_000;
    private const int DrawsPerSample = 50;

    private const string Setup = """
        async hosts => {
          const { HostMap, STATES } = await import('/ui/hostmap.js');
          const canvas = document.createElement('canvas');
          canvas.className = 'hostmap';
          canvas.style.width = '1200px';
          document.body.replaceChildren(canvas);
          const map = new HostMap(canvas);
          let seed = 7;
          const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
          map.setHosts(Array.from({ length: hosts }, (_, i) => ({ id: `host-${String(i).padStart(5, '0')}`, state: STATES[Math.floor(random() * STATES.length)].key })));
                    window.bench = {
            map: draws => {
              const t = performance.now();
              for (let d = 0; d < draws; d++) {
                for (let k = 0; k < 200; k++) map.set(map.ids[Math.floor(random() * hosts)], STATES[Math.floor(random() * STATES.length)].key);
                map.draw();
                canvas.getContext('2d').getImageData(0, 0, 1, 1);
              }
              return (performance.now() - t) / draws;
            },
            empty: draws => {
              const ctx = canvas.getContext('2d');
              const t = performance.now();
              for (let d = 0; d < draws; d++) {
                ctx.clearRect(0, 0, canvas.width, canvas.height);
                ctx.fillStyle = d % 2 ? '#9aa5b1' : '#1a7f37';
                ctx.fillRect(0, 0, canvas.width, canvas.height);
                ctx.getImageData(0, 0, 1, 1);
              }
              return (performance.now() - t) / draws;
            },
            setHosts: () => {
              const t = performance.now();
              map.setHosts(map.ids.map((id, i) => ({ id, state: map.stateOf(i) })));
              return performance.now() - t;
            },
            size: () => `${canvas.width}x${canvas.height}`,
          };
        }
        """;

    public async Task Run(EngineApp engine)
    {
        var chromium = new[] { Environment.GetEnvironmentVariable("DEPLOY_CHROMIUM"), "/usr/bin/chromium" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
        if (chromium is null)
        {
            Console.WriteLine("  ui: skipped, chromium is not installed (/usr/bin/chromium; apt-get install chromium)");
            return;
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(engine.BaseAddress.TrimEnd('/') + "/ui");
        await page.EvaluateAsync(Setup, Hosts);
        var map = await Measure.Repeat("ms", options.Warmup, options.Repetitions,
            _ => page.EvaluateAsync<double>("d => window.bench.map(d)", DrawsPerSample));
        var empty = await Measure.Repeat("ms", options.Warmup, options.Repetitions,
            _ => page.EvaluateAsync<double>("d => window.bench.empty(d)", DrawsPerSample));
        var size = await page.EvaluateAsync<string>("() => window.bench.size()");
        report.Add(new Comparison($"dashboard host map, {Hosts:N0} hosts in 7 states, one draw in chromium ({size} canvas, rasterised)",
            map, "an empty draw of the same canvas (clear + one fill)", empty, HigherIsBetter: false, 16.7 / Math.Max(empty.Median, 0.05), "under one 60 Hz frame (16.7 ms)",
            "the target ratio is one frame over the empty draw; 200 hosts change state between draws"));
        report.Figure($"dashboard host map, re-reading {Hosts:N0} hosts into the map (setHosts)",
            await Measure.Repeat("ms", options.Warmup, options.Repetitions, _ => page.EvaluateAsync<double>("() => window.bench.setHosts()")));
    }
}
