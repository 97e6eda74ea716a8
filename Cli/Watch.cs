using System.Text;
using System.Text.Json.Nodes;

namespace Deploy.Engine.Cli;

/// <summary>
/// <c>rollout watch</c>: follows a rollout until it ends and exits with a code for how it ended
/// (<see cref="ExitCodes.ForStatus"/>). Live from the event stream (each event of the rollout, and each heartbeat,
/// re-reads the rollout and prints what changed); when the stream cannot be opened or breaks for good, it falls back
/// to polling. A change is one line: status, the current step, and the host counts by state.
/// </summary>
public sealed class Watch(EngineClient engine, Output output, string rolloutId, TimeSpan pollInterval, bool useStream)
{
    private const int StreamAttempts = 3;
    private string? _last;

    public async Task<int> Run(CancellationToken cancellation)
    {
        var path = "/v1/rollouts/" + Uri.EscapeDataString(rolloutId);
        var snapshot = await engine.Get(path, cancellation);
        if (Show(snapshot) is { } done) return done;

        if (useStream && await FollowStream(path, cancellation) is { } streamed) return streamed;

        // Polling fallback: the stream is unavailable (an old engine, a proxy that buffers) or kept breaking.
        while (true)
        {
            await Task.Delay(pollInterval, cancellation);
            if (Show(await engine.Get(path, cancellation)) is { } polled) return polled;
        }
    }

    /// <summary>The exit code once the rollout ended, or null when the stream gave out first.</summary>
    private async Task<int?> FollowStream(string path, CancellationToken cancellation)
    {
        string? lastEventId = null;
        for (var attempt = 0; attempt < StreamAttempts; attempt++)
        {
            try
            {
                using var response = await engine.OpenStream("/v1/events/stream?rollout=" + Uri.EscapeDataString(rolloutId), lastEventId, cancellation);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation), Encoding.UTF8);

                // Anything that happened before the stream opened is in this read.
                if (Show(await engine.Get(path, cancellation)) is { } before) return before;
                string? line;
                while ((line = await reader.ReadLineAsync(cancellation)) is not null)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal))
                    {
                        lastEventId = line[4..];
                        attempt = 0;
                    }
                    else if (line.Length > 0 && !line.StartsWith("data: ", StringComparison.Ordinal) && !line.StartsWith("event: ", StringComparison.Ordinal)
                        && !line.StartsWith(": heartbeat", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    // An event ended (blank line), or a heartbeat: re-read the rollout.
                    if (line.Length == 0 || line.StartsWith(": heartbeat", StringComparison.Ordinal))
                    {
                        if (Show(await engine.Get(path, cancellation)) is { } ended) return ended;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is CliProblemException p && p.Status is null or >= 500 or 404))
            {
                // The stream broke or is not served: try again with Last-Event-ID, then poll.
            }
        }

        return null;
    }

    /// <summary>Prints the snapshot if anything shown changed; the exit code once the rollout has ended.</summary>
    private int? Show(JsonNode snapshot)
    {
        var status = (string?)snapshot["status"];
        var steps = snapshot["steps"] as JsonArray ?? [];
        var current = (int?)snapshot["currentStep"] ?? 0;
        var step = current >= 1 && current <= steps.Count ? steps[current - 1] : null;
        var hosts = snapshot["hosts"] as JsonObject ?? [];
        var record = new JsonObject
        {
            ["id"] = rolloutId,
            ["status"] = status,
            ["statusReason"] = (string?)snapshot["statusReason"],
            ["step"] = current,
            ["steps"] = steps.Count,
            ["stepKind"] = (string?)step?["kind"],
            ["stepDescription"] = (string?)step?["description"],
            ["trafficWeight"] = snapshot["trafficWeight"]?.DeepClone(),
            ["hosts"] = hosts.DeepClone(),
        };
        var key = record.ToJsonString();
        if (key != _last)
        {
            _last = key;
            if (output.Json)
            {
                output.Line(record);
            }
            else
            {
                var counts = string.Join(" · ", hosts.Where(h => h.Key != "targets").Select(h => $"{h.Key} {h.Value}"));
                var stepText = step is null ? "" : $"  step {current}/{steps.Count} {(string?)step["kind"]} ({(string?)step["description"]})";
                output.Say($"{status,-12}{stepText}  hosts: {counts}{(status is null ? "" : $"  — {(string?)snapshot["statusReason"]}")}");
            }
        }

        return ExitCodes.ForStatus(status);
    }
}
