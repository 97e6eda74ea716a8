using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>Bound from configuration section "Api".</summary>
public sealed class ApiLimits
{
    public const string Section = "Api";

    /// <summary>The largest request body accepted, in bytes (1 MiB): larger ones are 413 and change nothing.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

/// <summary>An endpoint's own body limit, read by <see cref="RequestBodyLimitMiddleware"/> instead of the general one.</summary>
public sealed record BodySizeLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

/// <summary>
/// Every request body is held to the limit, whatever server runs the API. A declared Content-Length over the
/// limit is refused with 413 before anything reads the body. A body without one (chunked) is cut off at the limit
/// while it is read — by the server's own limit where it has one (Kestrel), otherwise by a counting stream (the
/// test server has none) — and the read fails with a 413 <see cref="BadHttpRequestException"/>, which the
/// exception handler writes as a 413 problem.
/// </summary>
public sealed class RequestBodyLimitMiddleware(RequestDelegate next, Microsoft.Extensions.Options.IOptions<ApiLimits> limits)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        // An endpoint may name its own limit (artifact uploads are large); every other one has the general limit.
        var max = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? limits.Value.MaxRequestBodyBytes;
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

        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = max;
        }
        else if (feature is null)
        {
            // Counted alike whether model binding reads the stream or the pipe over it.
            context.Request.Body = new LimitedReadStream(context.Request.Body, max);
            context.Features.Set<IRequestBodyPipeFeature>(new RequestBodyPipeFeature(context));
        }

        await next(context);
    }

    /// <summary>Reads through to the inner stream and fails once more than <c>limit</c> bytes have come.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
            {
                throw new BadHttpRequestException($"The request body is larger than the limit of {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            return read;
        }
    }
}
