using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Environments;

/// <summary>
/// Loads the declarations folder (<see cref="EnvironmentOptions.DeclarationsPath"/>) at start. Every file is read and
/// validated before the engine starts (an invalid file stops the start with its path and field); the declarations are
/// stored once the silo is up. A file holds one declaration, a list of them, or <c>{declarations: [...]}</c>.
/// Declaring what is already declared changes nothing, so a restart writes nothing new.
/// </summary>
public sealed partial class DeclarationFileLoader(
    IOptions<EnvironmentOptions> options,
    IGrainFactory grains,
    IHostApplicationLifetime lifetime,
    ILogger<DeclarationFileLoader> logger) : IHostedService
{
    public const string Actor = "declarations-folder";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var path = options.Value.DeclarationsPath;
        if (string.IsNullOrWhiteSpace(path))
        {
            return Task.CompletedTask;
        }

        var declarations = Read(path);
        lifetime.ApplicationStarted.Register(() => _ = Store(declarations, path));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Every declaration in the folder, validated together (promotion order included); throws naming each problem.</summary>
    public static IReadOnlyList<EnvironmentDeclaration> Read(string path)
    {
        var errors = new ValidationErrors();
        var batch = new List<(EnvironmentDeclaration, string)>();
        var files = Directory.EnumerateFiles(path)
            .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var (document, error) = DeclarationDocuments.Read(File.ReadAllText(file), DeclarationDocuments.IsYaml(file));
            if (document is null)
            {
                errors.Add(name, error!);
                continue;
            }

            batch.AddRange(DeclarationParser.ParseMany(document.Value, errors, name + ":"));
        }

        DeclarationParser.CheckOrder(batch, new Dictionary<string, string?>(StringComparer.Ordinal), errors);
        if (errors.Any)
        {
            throw new OptionsValidationException(EnvironmentOptions.Section, typeof(EnvironmentOptions),
                errors.ToDictionary().Select(e => $"{path}/{e.Key}: {string.Join("; ", e.Value)}"));
        }

        return batch.Select(b => b.Item1).ToList();
    }

    private async Task Store(IReadOnlyList<EnvironmentDeclaration> declarations, string path)
    {
        try
        {
            foreach (var declaration in declarations)
            {
                await grains.Ref<IEnvironmentDeclarationGrain>(declaration.Name)
                    .Declare(declaration, new Interfaces.Actor { Name = Actor, Roles = "system", Reason = $"loaded from {path} at start" });
            }

            LogLoaded(logger, declarations.Count, path);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e, path);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Declared {Count} environments from {Path}")]
    private static partial void LogLoaded(ILogger logger, int count, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing the environment declarations from {Path} failed; they are loaded again at the next start")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path);
}
