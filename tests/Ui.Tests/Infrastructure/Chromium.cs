namespace Deploy.Engine.Ui.Tests.Infrastructure;

/// <summary>The system chromium the browser tests drive (Debian's package); Playwright's own browsers are never downloaded.</summary>
public static class Chromium
{
    /// <summary><c>DEPLOY_CHROMIUM</c> when set, else /usr/bin/chromium; null when neither exists.</summary>
    public static string? Executable { get; } =
        new[] { Environment.GetEnvironmentVariable("DEPLOY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
}

/// <summary>A browser test: reported skipped, with the reason, where no chromium is installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Executable is null)
        {
            Skip = "chromium is not installed: /usr/bin/chromium is missing (apt-get install chromium; deploy/test.sh tries when it can).";
        }
    }
}
