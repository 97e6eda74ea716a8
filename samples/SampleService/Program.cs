// The sample service the host agent deploys: a tiny Kestrel program on http://127.0.0.1:$PORT.
//
//   GET /          "sample <version>" (mode "errors": a deterministic share of these answer 500)
//   GET /version   {"service":"sample","version":"…","mode":"…"}
//   GET /healthz   "ok"
//   GET /metrics   Prometheus text: http_requests_total{code}, http_request_duration_seconds histogram
//
// Settings come from sample.json next to the dll (written by deploy/package-sample.sh), overridden by
// SAMPLE_VERSION, SAMPLE_MODE and SAMPLE_ERROR_RATE_PERCENT.

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Deploy.Engine.Samples;

SampleSettings settings;
try
{
    settings = SampleSettings.Load(Path.Combine(AppContext.BaseDirectory, "sample.json"));
}
catch (Exception e) when (e is IOException or JsonException or FormatException or ArgumentException)
{
    Console.Error.WriteLine($"sample: bad settings: {e.Message}");
    return 2;
}

var portText = Environment.GetEnvironmentVariable("PORT");
var port = 8080;
if (!string.IsNullOrEmpty(portText) && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
{
    Console.Error.WriteLine($"sample: PORT '{portText}' is not a port number");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
// Loopback only, whatever ASPNETCORE_URLS says.
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");

var app = builder.Build();
var metrics = new RequestMetrics();
var errors = new ErrorSequence(settings.Mode == SampleSettings.Errors ? settings.ErrorRatePercent : 0);

app.Use(async (context, next) =>
{
    var path = context.Request.Path;
    if (path.Equals("/metrics", StringComparison.Ordinal) || path.Equals("/healthz", StringComparison.Ordinal))
    {
        await next(context);
        return;
    }
    var started = Stopwatch.GetTimestamp();
    try
    {
        await next(context);
    }
    finally
    {
        metrics.Record(context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
});

app.MapGet("/", () => errors.NextFails()
    ? Results.Text($"sample {settings.Version}: injected error\n", statusCode: StatusCodes.Status500InternalServerError)
    : Results.Text($"sample {settings.Version}\n"));
app.MapGet("/version", () => Results.Text(
    JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["service"] = "sample",
        ["version"] = settings.Version,
        ["mode"] = settings.Mode,
    }),
    "application/json"));
app.MapGet("/healthz", () => Results.Text("ok\n"));
app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"));

await app.RunAsync();
return 0;

namespace Deploy.Engine.Samples
{
    /// <summary>The version and behaviour: sample.json, then environment overrides.</summary>
    internal sealed record SampleSettings(string Version, string Mode, int ErrorRatePercent)
    {
        public const string Ok = "ok";
        public const string FailValidate = "fail-validate";
        public const string Errors = "errors";
        private const int DefaultErrorRatePercent = 40;

        public static SampleSettings Load(string file)
        {
            string version = "0.0.0", mode = Ok;
            int rate = 0;
            if (File.Exists(file))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                var root = doc.RootElement;
                if (root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String) version = v.GetString()!;
                if (root.TryGetProperty("mode", out var m) && m.ValueKind == JsonValueKind.String) mode = m.GetString()!;
                if (root.TryGetProperty("errorRatePercent", out var r) && r.ValueKind == JsonValueKind.Number) rate = r.GetInt32();
            }
            version = Environment.GetEnvironmentVariable("SAMPLE_VERSION") is { Length: > 0 } ev ? ev : version;
            mode = Environment.GetEnvironmentVariable("SAMPLE_MODE") is { Length: > 0 } em ? em : mode;
            if (Environment.GetEnvironmentVariable("SAMPLE_ERROR_RATE_PERCENT") is { Length: > 0 } er)
                rate = int.Parse(er, NumberStyles.None, CultureInfo.InvariantCulture);
            if (mode is not (Ok or FailValidate or Errors))
                throw new ArgumentException($"mode '{mode}' is not one of ok, fail-validate, errors");
            if (rate is < 0 or > 100) throw new ArgumentException($"errorRatePercent {rate} is not from 0 to 100");
            if (mode == Errors && rate == 0) rate = DefaultErrorRatePercent;
            return new SampleSettings(version, mode, rate);
        }
    }

    /// <summary>
    /// Which requests fail: the n-th (from 1) fails when floor(n·p/100) steps up, so exactly p of every 100
    /// consecutive requests fail, spread evenly (40%: the 3rd, 5th, 8th, 10th, … of every 10 → 2 of every 5).
    /// </summary>
    internal sealed class ErrorSequence(int percent)
    {
        private long _count;

        public bool NextFails()
        {
            if (percent <= 0) return false;
            var n = Interlocked.Increment(ref _count);
            return n * percent / 100 > (n - 1) * percent / 100;
        }
    }

    /// <summary>Request counters by status code and a latency histogram, rendered as Prometheus text.</summary>
    internal sealed class RequestMetrics
    {
        private static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
        private readonly Lock _gate = new();
        private readonly SortedDictionary<int, long> _byCode = new() { [200] = 0, [500] = 0 };
        private readonly long[] _buckets = new long[Bounds.Length + 1];
        private double _sum;
        private long _count;

        public void Record(int code, double seconds)
        {
            lock (_gate)
            {
                _byCode[code] = _byCode.GetValueOrDefault(code) + 1;
                var i = 0;
                while (i < Bounds.Length && seconds > Bounds[i]) i++;
                _buckets[i]++;
                _sum += seconds;
                _count++;
            }
        }

        public string Render()
        {
            var text = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            lock (_gate)
            {
                text.Append("# HELP http_requests_total Requests served (excluding /metrics and /healthz), by status code.\n");
                text.Append("# TYPE http_requests_total counter\n");
                foreach (var (code, n) in _byCode)
                    text.Append(inv, $"http_requests_total{{code=\"{code}\"}} {n}\n");
                text.Append("# HELP http_request_duration_seconds Request duration (excluding /metrics and /healthz).\n");
                text.Append("# TYPE http_request_duration_seconds histogram\n");
                long cumulative = 0;
                for (var i = 0; i < Bounds.Length; i++)
                {
                    cumulative += _buckets[i];
                    text.Append(inv, $"http_request_duration_seconds_bucket{{le=\"{Bounds[i].ToString("0.###", inv)}\"}} {cumulative}\n");
                }
                cumulative += _buckets[^1];
                text.Append(inv, $"http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n");
                text.Append(inv, $"http_request_duration_seconds_sum {_sum.ToString("R", inv)}\n");
                text.Append(inv, $"http_request_duration_seconds_count {_count}\n");
            }
            return text.ToString();
        }
    }
}
