using System.Net;
using System.Security.Cryptography;
using Deploy.Engine.Api.Tests.Infrastructure;
using Deploy.Engine.Silo.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Tests;

/// <summary>
/// Issue 14: "Data Protection keys are stored unencrypted beside the secrets they protect". A key ring kept in storage
/// is encrypted under Secrets:KeyRingKey (configuration, outside the storage account); another key is refused at start.
/// </summary>
public sealed class KeyRingEncryptionTests : IDisposable
{
    private const string Key = "keyring-test-key-0123456789abcdef-0123";
    private const string OtherKey = "keyring-other-key-0123456789abcdef-0123";

    private readonly string _ring = Directory.CreateTempSubdirectory("keyring-").FullName;

    public void Dispose() => Directory.Delete(_ring, recursive: true);

    [Fact]
    public async Task The_stored_key_ring_holds_no_plaintext_key_and_the_engine_refuses_to_start_with_another_key()
    {
        using (var engine = Engine(Key))
        {
            var client = engine.CreateClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EngineFactory.OperatorKey);
            var env = TestHttp.Unique("ring");
            await client.PutJson($"/v1/environments/{env}", new { concurrencyLimit = 1 }).Expect(HttpStatusCode.OK);
            await client.PutJson($"/v1/environments/{env}/parameters", new { secrets = new { db = "hunter2" } }).Expect(HttpStatusCode.OK);
        }

        var stored = Directory.GetFiles(_ring, "*.xml");
        Assert.NotEmpty(stored);
        foreach (var file in stored)
        {
            var xml = await File.ReadAllTextAsync(file);
            Assert.Contains("aesGcmEncryptedKey", xml, StringComparison.Ordinal);
            // Unencrypted, Data Protection writes the key as <masterKey><value>base64</value></masterKey> with a warning.
            Assert.DoesNotContain("masterKey", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("unencrypted", xml, StringComparison.OrdinalIgnoreCase);
        }

        using var wrong = Engine(OtherKey);
        var refused = Assert.ThrowsAny<Exception>(() => wrong.CreateClient());
        Assert.Contains("encrypted with another key", refused.ToString(), StringComparison.Ordinal);
        Assert.Contains("Secrets:KeyRingKey", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_with_the_same_key_reads_what_was_protected_and_another_key_reads_nothing()
    {
        string payload;
        using (var first = Protection(Key))
        {
            payload = first.GetRequiredService<IDataProtectionProvider>().CreateProtector("secrets").Protect("hunter2");
        }

        using (var restarted = Protection(Key))
        {
            await Check(restarted).StartAsync(CancellationToken.None);
            Assert.Equal("hunter2", restarted.GetRequiredService<IDataProtectionProvider>().CreateProtector("secrets").Unprotect(payload));
        }

        using var other = Protection(OtherKey);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Check(other).StartAsync(CancellationToken.None));
        Assert.Contains("encrypted with another key", refused.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<CryptographicException>(() => other.GetRequiredService<IDataProtectionProvider>().CreateProtector("secrets").Unprotect(payload));
    }

    [Fact]
    public void A_key_ring_kept_in_storage_needs_the_key_unless_explicitly_allowed()
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Protection(null));
        Assert.Contains("Secrets:KeyRingKey is not set", refused.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => Protection("too short"));
        using var allowed = Protection(null, ("Secrets:AllowUnencryptedKeyRing", "true"));
        Assert.NotNull(allowed.GetRequiredService<IDataProtectionProvider>().CreateProtector("x").Protect("y"));
    }

    private static IHostedService Check(ServiceProvider services) => services.GetServices<IHostedService>().OfType<KeyRingCheck>().Single();

    private ServiceProvider Protection(string? key, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Engine:StorageMode"] = "Local",
            ["Secrets:KeyRingDirectory"] = _ring,
            ["Secrets:KeyRingKey"] = key,
        };
        foreach (var (name, value) in extra) settings[name] = value;
        var services = new ServiceCollection().AddLogging();
        services.AddEngineArtifactsAndSecrets(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }

    private Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Engine(string key) =>
        new EngineFactory().WithWebHostBuilder(b =>
        {
            b.UseSetting("Secrets:KeyRingDirectory", _ring);
            b.UseSetting("Secrets:KeyRingKey", key);
        });
}
