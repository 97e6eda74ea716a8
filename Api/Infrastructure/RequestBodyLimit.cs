using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>Bound from configuration section "Api".</summary>
public sealed class ApiLimits
{
    public const string Section = "Api";

    /// <summary>The largest request body accepted, in bytes (1 MiB): larger ones are 413 and change nothing.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

/// <summary>
/// Refuses a declared body over the limit before anything reads it (413 ProblemDetails), and caps bodies without
/// a length through the server's own limit where the server has one (Kestrel does; an over-long chunked body
/// then fails binding with 413, which the exception handler writes as a problem).
/// </summary>
public sealed class RequestBodyLimitMiddleware(RequestDelegate next, Microsoft.Extensions.Options.IOptions<ApiLimits> limits)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        var max = limits.Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > max)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Type = Problems.PayloadTooLargeType,
                    Title = "Payload too large",
                    Detail = $"Request bodies are limited to {max} bytes.",
                },
            });
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = max;
        }

        await next(context);
    }
}
