using System.Buffers;

namespace Deploy.Engine.Domain.Artifacts;

/// <summary>Content addresses of the form <c>sha256:</c> followed by 64 lower-case hex digits.</summary>
public static class ArtifactDigest
{
    public const string Prefix = "sha256:";

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    public static bool IsValid(string? digest) =>
        digest is { Length: 71 }
        && digest.StartsWith(Prefix, StringComparison.Ordinal)
        && !digest.AsSpan(Prefix.Length).ContainsAnyExcept(LowerHex);
}
