using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// The Azure Storage account of Azure mode, from configuration section "Storage", in one of two ways:
/// <list type="bullet">
/// <item><c>Storage:ConnectionString</c>: a connection string (Azurite's, or an account key's / SAS).</item>
/// <item><c>Storage:AccountName</c> (service URIs <c>https://{name}.{table|blob|queue}.core.windows.net</c>) and/or
/// <c>Storage:TableServiceUri</c>, <c>Storage:BlobServiceUri</c>, <c>Storage:QueueServiceUri</c>: Microsoft Entra ID
/// through <see cref="DefaultAzureCredential"/> (managed identity, workload identity, <c>AZURE_CLIENT_ID</c> /
/// <c>AZURE_TENANT_ID</c> / <c>AZURE_CLIENT_SECRET</c>, Azure CLI login), no secret in the engine's configuration.</item>
/// </list>
/// Both at once is an error, so that it is never unclear which account the engine writes to.
/// </summary>
public sealed class StorageAccount
{
    private readonly string? _connectionString;
    private readonly TokenCredential? _credential;
    private readonly Uri? _table;
    private readonly Uri? _blob;
    private readonly Uri? _queue;

    private StorageAccount(string connectionString) => _connectionString = connectionString;

    private StorageAccount(Uri table, Uri blob, Uri queue, TokenCredential credential)
    {
        (_table, _blob, _queue, _credential) = (table, blob, queue, credential);
    }

    /// <summary>How the engine reaches the account, for logs: "connection string" or the table service URI with the credential's kind.</summary>
    public string Description => _connectionString is not null ? "connection string" : $"{_table} with DefaultAzureCredential";

    public static StorageAccount FromConnectionString(string connectionString) => new(connectionString);

    /// <summary>Reads section "Storage"; throws <see cref="OptionsValidationException"/> naming the keys when neither or both ways are configured.</summary>
    public static StorageAccount From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(StorageTimeouts.Section);
        var connectionString = section["ConnectionString"];
        var account = section["AccountName"];
        var table = ServiceUri(section, "TableServiceUri", account, "table");
        var blob = ServiceUri(section, "BlobServiceUri", account, "blob");
        var queue = ServiceUri(section, "QueueServiceUri", account, "queue");
        var anyUri = table is not null || blob is not null || queue is not null;

        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return anyUri
                ? throw Invalid("Storage:ConnectionString and Storage:AccountName / Storage:*ServiceUri are both set; configure one way to reach the account")
                : new StorageAccount(connectionString);
        }

        if (!anyUri)
        {
            throw Invalid("Engine:StorageMode is Azure but neither Storage:ConnectionString nor Storage:AccountName (or Storage:TableServiceUri, " +
                "Storage:BlobServiceUri, Storage:QueueServiceUri) is set (deploy/run.sh sets a connection string for Azurite)");
        }

        if (table is null || blob is null || queue is null)
        {
            var missing = new[] { ("TableServiceUri", table), ("BlobServiceUri", blob), ("QueueServiceUri", queue) }
                .Where(u => u.Item2 is null).Select(u => "Storage:" + u.Item1);
            throw Invalid($"{string.Join(", ", missing)} not set: give all three service URIs, or Storage:AccountName");
        }

        var options = new DefaultAzureCredentialOptions();
        if (section["ManagedIdentityClientId"] is { Length: > 0 } clientId)
        {
            options.ManagedIdentityClientId = clientId;
        }

        return new StorageAccount(table, blob, queue, new DefaultAzureCredential(options));
    }

    private static readonly string[] SettingNames = ["ConnectionString", "AccountName", "TableServiceUri", "BlobServiceUri", "QueueServiceUri"];

    /// <summary>The configured account, or null when section "Storage" names none (memory stores in tests and Local mode).</summary>
    public static StorageAccount? TryFrom(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(StorageTimeouts.Section);
        var configured = SettingNames.Any(k => !string.IsNullOrWhiteSpace(section[k]));
        return configured ? From(configuration) : null;
    }

    public TableServiceClient Tables(TableClientOptions? options = null) => _connectionString is not null
        ? new TableServiceClient(_connectionString, options ?? new TableClientOptions())
        : new TableServiceClient(_table!, _credential!, options ?? new TableClientOptions());

    public BlobServiceClient Blobs(BlobClientOptions? options = null) => _connectionString is not null
        ? new BlobServiceClient(_connectionString, options ?? new BlobClientOptions())
        : new BlobServiceClient(_blob!, _credential!, options ?? new BlobClientOptions());

    public QueueServiceClient Queues(QueueClientOptions? options = null) => _connectionString is not null
        ? new QueueServiceClient(_connectionString, options ?? new QueueClientOptions())
        : new QueueServiceClient(_queue!, _credential!, options ?? new QueueClientOptions());

    private static Uri? ServiceUri(IConfigurationSection section, string key, string? account, string service)
    {
        var value = section[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return string.IsNullOrWhiteSpace(account) ? null : new Uri($"https://{account}.{service}.core.windows.net/");
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !uri.IsLoopback))
        {
            throw Invalid($"Storage:{key} must be an absolute https URI (http only on loopback), not '{value}'");
        }

        return uri;
    }

    private static OptionsValidationException Invalid(string message) =>
        new(StorageTimeouts.Section, typeof(StorageAccount), [message]);
}
