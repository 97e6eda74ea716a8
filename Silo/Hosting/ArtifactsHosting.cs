using Deploy.Engine.Grains.Artifacts;
using Deploy.Engine.Grains.Interfaces;
using Deploy.Engine.Silo.Artifacts;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>Bound from configuration section "Secrets".</summary>
public sealed class SecretsOptions
{
    public const string Section = "Secrets";

    /// <summary>A directory for the Data Protection key ring; when unset, Azure mode keeps it in blob storage and Local mode in memory.</summary>
    public string? KeyRingDirectory { get; set; }

    /// <summary>The blob container of the key ring in Azure mode.</summary>
    public string KeyRingContainer { get; set; } = "deploy-engine-keys";

    // Secrets:KeyRingKey and Secrets:AllowUnencryptedKeyRing are read by KeyRingKey (never bound into options).
}

public static class ArtifactsHosting
{
    /// <summary>
    /// The artifact store (Azure Blob in Azure storage mode with a connection string, memory otherwise) with its
    /// options and gate, and ASP.NET Core Data Protection for secret parameters: the key ring in
    /// <see cref="SecretsOptions.KeyRingDirectory"/> when set, else on blob storage (Azure mode), else in memory
    /// (Local mode, whose state is in memory too).
    /// </summary>
    public static IServiceCollection AddEngineArtifactsAndSecrets(this IServiceCollection services, IConfiguration configuration)
    {
        var local = string.Equals(configuration["Engine:StorageMode"], nameof(StorageMode.Local), StringComparison.OrdinalIgnoreCase);
        var account = local ? null : StorageAccount.TryFrom(configuration);
        var azure = account is not null;
        if (account is not null)
        {
            services.AddSingleton<IArtifactStore>(sp => new BlobArtifactStore(
                account.Blobs().GetBlobContainerClient(sp.GetRequiredService<IOptions<ArtifactOptions>>().Value.Container)));
        }

        services.AddArtifacts(configuration);

        var secrets = configuration.GetSection(SecretsOptions.Section).Get<SecretsOptions>() ?? new SecretsOptions();
        var protection = services.AddDataProtection().SetApplicationName("deploy-engine");

        // A key ring kept in storage is encrypted under a key from configuration (never beside the secrets it protects).
        var keyRingKey = KeyRingKey.From(configuration);
        var persisted = azure || !string.IsNullOrWhiteSpace(secrets.KeyRingDirectory);
        KeyRingKey.Validate(configuration, persisted, keyRingKey);
        if (keyRingKey is not null && persisted)
        {
            services.AddSingleton(keyRingKey);
            services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new AesGcmXmlEncryptor(keyRingKey));
            services.AddHostedService<KeyRingCheck>();
        }

        if (!string.IsNullOrWhiteSpace(secrets.KeyRingDirectory))
        {
            protection.PersistKeysToFileSystem(new DirectoryInfo(secrets.KeyRingDirectory));
        }
        else if (azure)
        {
            var container = account!.Blobs().GetBlobContainerClient(secrets.KeyRingContainer);
            services.Configure<KeyManagementOptions>(o => o.XmlRepository = new BlobXmlRepository(container));
        }
        else
        {
            protection.UseEphemeralDataProtectionProvider();
        }

        return services;
    }
}
