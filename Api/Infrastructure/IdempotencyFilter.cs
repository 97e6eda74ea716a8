using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// Honours <c>Idempotency-Key</c> on creating POSTs. The key is claimed (in storage) before the handler runs; a
/// retry with the same key and request gets the stored response (with <c>Idempotent-Replayed: true</c>) and
/// creates nothing; the same key with another request is 422; a retry while the first is still running is 409.
/// A request that did not succeed releases its claim, so it can be retried.
/// </summary>
public sealed class IdempotencyFilter(IGrainFactory grains, IOptions<JsonOptions> json) : IEndpointFilter
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        string? key = http.Request.Headers[Header];
        if (key is null)
        {
            return await next(context);
        }

        if (key.Length is 0 or > 255 || key.Any(char.IsControl))
        {
            return Problems.Validation(Header, "must be 1 to 255 printable characters");
        }

        var serializer = json.Value.SerializerOptions;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(context.Arguments.Where(a => a is string || a?.GetType().Namespace?.StartsWith("Deploy.Engine", StringComparison.Ordinal) == true), serializer))));
        var route = http.Request.Method + " " + http.Request.Path;
        var grain = grains.Ref<IIdempotencyGrain>(GrainKeys.Idempotency(http.User.Caller(), route, key));

        var claim = await grain.Claim(hash);
        switch (claim.Phase)
        {
            case IdempotencyPhase.Completed:
                var stored = claim.Response!;
                http.Response.Headers[ReplayedHeader] = "true";
                if (stored.Location is not null)
                {
                    http.Response.Headers.Location = stored.Location;
                }

                return TypedResults.Text(stored.Body ?? string.Empty, "application/json", Encoding.UTF8, stored.StatusCode);
            case IdempotencyPhase.Mismatch:
                return TypedResults.Problem($"{Header} '{key}' was already used with a different request",
                    statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused", type: Problems.IdempotencyMismatchType);
            case IdempotencyPhase.InProgress:
                return Problems.Conflict($"a request with {Header} '{key}' is still being processed; retry shortly");
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await grain.Abandon(hash);
            throw;
        }

        var inner = result is INestedHttpResult nested ? nested.Result : result;
        if (inner is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } status && inner is IValueHttpResult value)
        {
            var location = inner.GetType().GetProperty("Location")?.GetValue(inner) as string;
            await grain.Complete(new IdempotentResponse
            {
                RequestHash = hash,
                StatusCode = status.StatusCode!.Value,
                Body = JsonSerializer.Serialize(value.Value, value.Value?.GetType() ?? typeof(object), serializer),
                Location = location,
            });
        }
        else
        {
            await grain.Abandon(hash);
        }

        return result;
    }
}
