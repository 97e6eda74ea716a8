using Deploy.Engine.Api;
using Deploy.Engine.Api.Infrastructure;
using Deploy.Engine.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
builder.AddDeployEngineNode();
builder.AddDeployEngineTelemetry();
builder.Services.AddDeployEngineApi(builder.Configuration);
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize =
    builder.Configuration.GetSection(ApiLimits.Section).Get<ApiLimits>()?.MaxRequestBodyBytes ?? new ApiLimits().MaxRequestBodyBytes);

var app = builder.Build();
app.UseDeployEngineApi();
app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the API and integration tests.</summary>
public partial class Program;
