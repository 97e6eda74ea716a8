using Deploy.Engine.Grains.Configuration;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Artifacts;

public static class ArtifactsExtensions
{
    /// <summary>
    /// The content-addressed artifact store (memory unless an <see cref="IArtifactStore"/> was registered before:
    /// the silo registers the Azure Blob store in Azure storage mode), the "Artifacts" options (validated at start), and the gate that refuses
    /// a release whose configuration templates the environment cannot render.
    /// </summary>
    public static IServiceCollection AddArtifacts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ArtifactOptions>().Bind(configuration.GetSection(ArtifactOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ArtifactOptions>, ArtifactOptionsValidator>();

        services.TryAddSingleton<IArtifactStore, InMemoryArtifactStore>();

        services.AddRolloutGate<ConfigTemplateGate>();
        return services;
    }
}

public sealed class ArtifactOptionsValidator : IValidateOptions<ArtifactOptions>
{
    public ValidateOptionsResult Validate(string? name, ArtifactOptions options)
    {
        var errors = new List<string>();
        if (options.MaxUploadBytes <= 0) errors.Add("Artifacts:MaxUploadBytes must be greater than 0.");
        if (options.VerifyBeforeSendBytes < 0) errors.Add("Artifacts:VerifyBeforeSendBytes must be 0 or more.");
        if (string.IsNullOrWhiteSpace(options.Container) || options.Container.Length is < 3 or > 63
            || !options.Container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            errors.Add("Artifacts:Container must be a blob container name: 3-63 lower-case letters, digits and '-'.");
        if (options.Retention.KeepLastReleasesPerServicePerEnvironment < 0) errors.Add("Artifacts:Retention:KeepLastReleasesPerServicePerEnvironment must be 0 or more.");
        if (options.Retention.DeleteAfterDays < 0) errors.Add("Artifacts:Retention:DeleteAfterDays must be 0 or more.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
