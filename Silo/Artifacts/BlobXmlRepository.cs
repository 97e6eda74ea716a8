using System.Xml.Linq;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Deploy.Engine.Silo.Artifacts;

/// <summary>
/// The Data Protection key ring on Azure Blob storage (Azurite locally), one blob per key under <c>keys/</c>, so
/// every silo of a cluster protects and unprotects secrets with the same keys, and the keys live outside the grain
/// state that holds the protected payloads.
/// </summary>
public sealed class BlobXmlRepository(BlobContainerClient container) : IXmlRepository
{
    private const string Prefix = "keys/";

    private bool _exists;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        Ensure();
        var elements = new List<XElement>();
        foreach (var item in container.GetBlobs(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Prefix, CancellationToken.None))
        {
            var content = container.GetBlobClient(item.Name).DownloadContent().Value.Content;
            elements.Add(XElement.Parse(content.ToString()));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        Ensure();
        var name = Prefix + (string.IsNullOrWhiteSpace(friendlyName) ? Guid.NewGuid().ToString("n") : friendlyName) + ".xml";
        container.GetBlobClient(name).Upload(BinaryData.FromString(element.ToString(SaveOptions.DisableFormatting)), overwrite: false);
    }

    private void Ensure()
    {
        if (!_exists)
        {
            container.CreateIfNotExists();
            _exists = true;
        }
    }
}
