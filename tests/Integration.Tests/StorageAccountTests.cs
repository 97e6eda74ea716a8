using Deploy.Engine.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Integration.Tests;

/// <summary>
/// How Azure mode reaches the storage account (<see cref="StorageAccount"/>): a connection string, or service URIs
/// (or just the account name) with DefaultAzureCredential; anything ambiguous or incomplete stops the start with the
/// keys named. Whether Entra ID accepts the credential can only be seen against a real account; what is checked here is
/// which endpoints the engine's clients are built for.
/// </summary>
public sealed class StorageAccountTests
{
    private static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();

    [Fact]
    public void An_account_name_alone_means_its_public_service_endpoints_with_a_token_credential()
    {
        var account = StorageAccount.From(Config(("Storage:AccountName", "deployengineprod")));
        Assert.Equal(new Uri("https://deployengineprod.table.core.windows.net/"), account.Tables().Uri);
        Assert.Equal(new Uri("https://deployengineprod.blob.core.windows.net/"), account.Blobs().Uri);
        Assert.Equal(new Uri("https://deployengineprod.queue.core.windows.net/"), account.Queues().Uri);
        Assert.Contains("DefaultAzureCredential", account.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Explicit_service_uris_win_over_the_account_name_for_private_endpoints_or_sovereign_clouds()
    {
        var account = StorageAccount.From(Config(
            ("Storage:AccountName", "acct"),
            ("Storage:TableServiceUri", "https://acct.table.core.chinacloudapi.cn/")));
        Assert.Equal(new Uri("https://acct.table.core.chinacloudapi.cn/"), account.Tables().Uri);
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/"), account.Blobs().Uri);
    }

    [Fact]
    public void A_connection_string_is_used_as_given_and_no_secret_shows_in_the_description()
    {
        const string cs = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;TableEndpoint=http://127.0.0.1:10102/devstoreaccount1;BlobEndpoint=http://127.0.0.1:10100/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10101/devstoreaccount1;";
        var account = StorageAccount.From(Config(("Storage:ConnectionString", cs)));
        Assert.Equal(new Uri("http://127.0.0.1:10102/devstoreaccount1"), account.Tables().Uri);
        Assert.Equal("connection string", account.Description);
    }

    [Theory]
    [InlineData(new[] { "Storage:ConnectionString", "UseDevelopmentStorage=true", "Storage:AccountName", "acct" }, "both set")]
    [InlineData(new string[0], "neither Storage:ConnectionString nor Storage:AccountName")]
    [InlineData(new[] { "Storage:TableServiceUri", "https://a.table.core.windows.net/" }, "Storage:BlobServiceUri, Storage:QueueServiceUri not set")]
    [InlineData(new[] { "Storage:AccountName", "acct", "Storage:BlobServiceUri", "http://storage.example.com/" }, "Storage:BlobServiceUri must be an absolute https URI")]
    public void An_ambiguous_or_incomplete_storage_configuration_stops_the_start_naming_the_keys(string[] pairs, string expected)
    {
        var settings = pairs.Chunk(2).Select(p => (p[0], p[1])).ToArray();
        var error = Assert.Throws<OptionsValidationException>(() => StorageAccount.From(Config(settings)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_any_storage_setting_there_is_no_account_and_memory_stores_are_used()
    {
        Assert.Null(StorageAccount.TryFrom(Config(("Engine:StorageMode", "Azure"))));
    }
}
