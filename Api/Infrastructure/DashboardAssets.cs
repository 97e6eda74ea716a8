using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>
/// The web dashboard at <c>/ui</c>: plain JS modules and CSS embedded in this assembly (Api/Ui), served before
/// authentication because the files hold no data; every call the page makes carries the key the user typed in and
/// is authorized as any other API call. Responses carry a strict Content-Security-Policy: scripts, styles and
/// connections only from this origin, no inline script or style, no framing.
/// </summary>
public static class DashboardAssets
{
    public const string Path = "/ui";

    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static WebApplication UseDeployEngineDashboard(this WebApplication app)
    {
        var files = new ManifestEmbeddedFileProvider(Assembly.GetExecutingAssembly(), "Ui");
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (!path.StartsWithSegments(Path, StringComparison.Ordinal, out var rest))
            {
                await next(context);
                return;
            }

            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }

            var name = rest.Value is null or "" or "/" ? "index.html" : rest.Value.TrimStart('/');
            var file = files.GetFileInfo(name);
            if (!file.Exists || file.IsDirectory || !ContentTypes.TryGetContentType(name, out var contentType))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-cache";
            context.Response.ContentType = contentType == "text/javascript" || contentType == "application/javascript"
                ? "text/javascript; charset=utf-8"
                : contentType.StartsWith("text/", StringComparison.Ordinal) ? contentType + "; charset=utf-8" : contentType;
            context.Response.ContentLength = file.Length;
            if (HttpMethods.IsHead(context.Request.Method)) return;
            await using var stream = file.CreateReadStream();
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        return app;
    }
}
