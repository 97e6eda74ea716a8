using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// JSON bodies are UTF-8 (RFC 8259 §8.1). A JSON body declared in any other charset — UTF-7, UTF-16, an unknown
/// name, even the unregistered alias "utf8" — is refused with a 415 problem before model binding sees it: the
/// framework's JSON reader throws on a charset it cannot transcode, which would otherwise surface as a 500.
/// </summary>
public sealed class JsonCharsetMiddleware(RequestDelegate next, IProblemDetailsService problems)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType) || !IsJson(mediaType) || !mediaType.Charset.HasValue)
        {
            await next(context);
            return;
        }

        var charset = mediaType.Charset.Value!;
        if (charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            // A quoted charset="utf-8" is valid HTTP, but the framework's reader does not unquote it (measured: 500).
            if (charset.StartsWith('"'))
            {
                mediaType.Charset = "utf-8";
                context.Request.ContentType = mediaType.ToString();
            }
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status415UnsupportedMediaType,
                    Type = Problems.ValidationType,
                    Title = "Unsupported media type",
                    Detail = "JSON request bodies must be UTF-8 (charset=utf-8 or no charset).",
                },
            });
            return;
        }

        await next(context);
    }

    private static bool IsJson(MediaTypeHeaderValue mediaType) =>
        mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);
}
