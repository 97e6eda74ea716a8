using System.Text.Json;

namespace Deploy.Engine.Cli;

/// <summary>Where the engine is and the key to speak to it with.</summary>
public sealed record Connection(Uri Url, string ApiKey);

/// <summary>
/// Resolves the connection: <c>--url</c>/<c>--api-key</c> options first, then <c>DEPLOY_URL</c>/<c>DEPLOY_API_KEY</c>,
/// then the profile file (<c>--profile</c>, else <c>~/.config/deployctl/profile.json</c>):
/// <c>{"url": "http://127.0.0.1:5080", "apiKey": "…"}</c>. Each value is taken from the first place that has it.
/// </summary>
public static class Profile
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record ProfileFile(string? Url, string? ApiKey);

    public static string DefaultPath(Func<string, string?> environment)
    {
        var config = environment("XDG_CONFIG_HOME");
        var home = environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(config) ? Path.Combine(home, ".config") : config, "deployctl", "profile.json");
    }

    public static Connection Resolve(string? url, string? apiKey, string? profilePath, Func<string, string?> environment)
    {
        url ??= environment("DEPLOY_URL");
        apiKey ??= environment("DEPLOY_API_KEY");
        if (url is null || apiKey is null)
        {
            var path = profilePath ?? DefaultPath(environment);
            if (File.Exists(path))
            {
                ProfileFile? file;
                try
                {
                    file = JsonSerializer.Deserialize<ProfileFile>(File.ReadAllText(path), Json);
                }
                catch (JsonException ex)
                {
                    throw new CliProblemException(ExitCodes.Usage, "Unreadable profile", $"{path}: {ex.Message}");
                }

                url ??= file?.Url;
                apiKey ??= file?.ApiKey;
            }
            else if (profilePath is not null)
            {
                throw new CliProblemException(ExitCodes.Usage, "No such profile", $"{profilePath} does not exist");
            }
        }

        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliProblemException(ExitCodes.Unreachable, "No engine URL",
                "set DEPLOY_URL (e.g. http://127.0.0.1:5080), pass --url, or write \"url\" in the profile file");
        }

        if (string.IsNullOrWhiteSpace(apiKey))
        {
            throw new CliProblemException(ExitCodes.Unreachable, "No API key", "set DEPLOY_API_KEY, pass --api-key, or write \"apiKey\" in the profile file");
        }

        return new Connection(uri, apiKey.Trim());
    }
}
