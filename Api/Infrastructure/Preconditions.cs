using Deploy.Engine.Domain.Validation;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// Optimistic concurrency for PUTs of versioned documents (environments, declarations): a strong ETag per version,
/// and the request's If-Match / If-None-Match read into an <see cref="EnvironmentPrecondition"/> that the owning grain
/// checks in the same turn as its write (so of two writers holding one ETag exactly one wins; the other gets 412).
/// </summary>
public static class Preconditions
{
    /// <summary>A strong ETag: the version, quoted (<c>"3"</c>).</summary>
    public static string ETag(long version) => "\"" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"";

    /// <summary>
    /// If-Match compares strongly (RFC 9110 §13.1.1): a weak or foreign tag matches no version; <c>*</c>: it must exist.
    /// If-None-Match: <c>*</c>: it must not exist yet; other If-None-Match values say nothing about a PUT and are ignored.
    /// A malformed If-Match is a validation error on field <c>If-Match</c>.
    /// </summary>
    public static EnvironmentPrecondition Read(HttpRequest request, ValidationErrors errors)
    {
        var precondition = new EnvironmentPrecondition();
        if (request.Headers.IfMatch.Count > 0)
        {
            if (!EntityTagHeaderValue.TryParseStrictList(request.Headers.IfMatch, out var tags) || tags.Count == 0)
            {
                errors.Add("If-Match", "must be * or a list of ETags");
            }
            else if (tags.Any(t => t.Equals(EntityTagHeaderValue.Any)))
            {
                precondition = precondition with { MustExist = true };
            }
            else
            {
                var versions = tags
                    .Where(t => !t.IsWeak)
                    .Select(t => long.TryParse(t.Tag.AsSpan().Trim('"'), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : -1)
                    .Where(v => v >= 0)
                    .ToList();
                precondition = precondition with { VersionIn = versions };
            }
        }

        if (EntityTagHeaderValue.TryParseStrictList(request.Headers.IfNoneMatch, out var none) && none.Any(t => t.Equals(EntityTagHeaderValue.Any)))
        {
            precondition = precondition with { MustNotExist = true };
        }

        return precondition;
    }
}
