using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Deploy.Engine.Silo.Hosting;

public static class TelemetryExtensions
{
    public const string EngineSource = "Deploy.Engine";

    /// <summary>
    /// Traces and metrics through OpenTelemetry: ASP.NET Core, Orleans, runtime and the engine's own source;
    /// a Prometheus scrape endpoint at /metrics; OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    /// </summary>
    public static WebApplicationBuilder AddDeployEngineTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("deploy-engine"))
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation()
                    .AddMeter("Microsoft.Orleans", EngineSource)
                    .AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            })
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation(o => o.Filter = ctx => ctx.Request.Path != "/healthz" && ctx.Request.Path != "/metrics")
                    .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", EngineSource);
                if (otlp) t.AddOtlpExporter();
            });
        return builder;
    }
}
