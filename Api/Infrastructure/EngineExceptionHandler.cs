using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// The last line: unreadable input becomes 400 naming the field (see <see cref="JsonBodyProblems"/>), storage or cluster trouble becomes 503 with Retry-After (the
/// write was not acknowledged, so nothing was promised), a concurrency conflict becomes 409. Bodies never
/// carry exception text or stack traces; the log keeps the exception.
/// </summary>
public sealed partial class EngineExceptionHandler(IProblemDetailsService problems, ILogger<EngineExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, type, title, detail) = Classify(exception);
        if (status >= 500)
        {
            LogFailure(logger, httpContext.Request.Method, httpContext.Request.Path, status, exception);
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var problem = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        if (status == StatusCodes.Status400BadRequest && Chain(exception).OfType<System.Text.Json.JsonException>().FirstOrDefault() is { } json)
        {
            // Strict bodies: name the field (unknown, misspelt, wrong kind, unknown enum value) as validation does.
            (problem.Detail, var errors) = JsonBodyProblems.Describe(httpContext, json);
            if (errors is not null) problem.Extensions["errors"] = errors;
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = null,
        });
    }

    internal static (int Status, string Type, string Title, string Detail) Classify(Exception exception)
    {
        foreach (var ex in Chain(exception))
        {
            switch (ex)
            {
                case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                    return (413, Problems.PayloadTooLargeType, "Payload too large", "The request body is larger than the engine accepts.");
                case BadHttpRequestException bad:
                    return (bad.StatusCode, Problems.ValidationType, "Bad request",
                        bad.InnerException is System.Text.Json.JsonException ? "The request body is not valid JSON for this operation." : "The request could not be read.");
                case System.Text.Json.JsonException:
                    return (400, Problems.ValidationType, "Bad request", "The request body is not valid JSON for this operation.");
            }

            var name = ex.GetType().FullName ?? string.Empty;
            if (name == "Orleans.Storage.InconsistentStateException")
            {
                return (409, Problems.ConflictType, "Conflict", "The resource was changed concurrently; read it again and retry.");
            }

            if (ex is TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException or HttpRequestException
                || name is "Azure.RequestFailedException" or "Orleans.Runtime.SiloUnavailableException"
                    or "Orleans.Runtime.OrleansMessageRejectionException" or "Orleans.Runtime.Messaging.ConnectionFailedException"
                    or "Orleans.Runtime.ClientNotAvailableException" or "Orleans.Runtime.OrleansException"
                || name.StartsWith("Orleans.Storage.", StringComparison.Ordinal))
            {
                return (503, Problems.UnavailableType, "Storage or cluster unavailable",
                    "The engine could not reach its storage or cluster; nothing was changed. Retry later.");
            }
        }

        return (500, Problems.InternalType, "Internal error", "An unexpected error occurred; it has been logged.");
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        var stack = new Stack<Exception>();
        stack.Push(exception);
        while (stack.Count > 0)
        {
            var ex = stack.Pop();
            yield return ex;
            if (ex is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions) stack.Push(inner);
            }
            else if (ex.InnerException is not null)
            {
                stack.Push(ex.InnerException);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed with {Status}")]
    private static partial void LogFailure(ILogger logger, string method, string path, int status, Exception exception);
}
