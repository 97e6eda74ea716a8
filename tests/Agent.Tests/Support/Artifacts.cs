using System.Text.Json;
using E = Deploy.Engine.Agent.Tests.Support.TestArchives.Entry;

namespace Deploy.Engine.Agent.Tests.Support;

/// <summary>Tiny service artifacts: a python3 static HTTP server serving index.html, with one BeforeInstall hook.</summary>
public static class SampleArtifacts
{
    public static byte[] WebServer(string version, string healthPath = "/", string? startCommand = null) => TestArchives.TarGz(
        new E("manifest.json", Content: JsonSerializer.Serialize(new
        {
            service = "web",
            start = new { command = "sh", args = new[] { "-c", startCommand ?? "exec python3 -m http.server \"$PORT\" --bind 127.0.0.1" }, environment = new { SAMPLE_MODE = "ok" } },
            stopTimeoutSeconds = 5,
            hooks = new Dictionary<string, object[]>
            {
                ["BeforeInstall"] = [new { run = "hooks/before-install.sh", timeoutSeconds = 10 }],
                ["ValidateService"] = [new { run = "hooks/validate.sh", timeoutSeconds = 10 }],
            },
            health = new { http = new { path = healthPath }, successThreshold = 2, intervalMs = 100, timeoutSeconds = 4 },
            metrics = new { probe = new { path = "/", perSecond = 5 } },
            config = new { directory = "config" },
        })),
        new E("index.html", Content: version),
        new E("hooks/before-install.sh", Content: "echo \"installing $DEPLOY_VERSION for $APPLICATION_NAME ($LIFECYCLE_EVENT)\"\n"),
        new E("hooks/validate.sh", Content: "test \"$(cat index.html)\" = \"$DEPLOY_VERSION\"\n"));

    /// <summary>A service with no port and no health checks: it only has to keep running.</summary>
    public static byte[] Sleeper() => TestArchives.TarGz(
        new E("manifest.json", Content: """{"service":"sleeper","start":{"command":"sleep","args":["300"]},"stopTimeoutSeconds":2}"""));
}
