using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Deploy.Engine.Silo.Hosting;

public static class TelemetryExtensions
{
    public const string EngineSource = "Deploy.Engine";

    /// <summary>
    /// Metrics through OpenTelemetry (ASP.NET Core, Orleans, runtime and the engine's own meter) on a Prometheus scrape
    /// endpoint at /metrics, and OTLP export of metrics and traces when OTEL_EXPORTER_OTLP_ENDPOINT is set. Traces are
    /// recorded only then: with a listener, every API request builds and tags an activity, and with nobody to export
    /// it to that was about a tenth of the API's GET throughput for nothing (measured with deploy/bench.sh --only api).
    /// </summary>
    public static WebApplicationBuilder AddDeployEngineTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("deploy-engine"))
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation()
                    .AddMeter("Microsoft.Orleans", EngineSource)
                    .AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        if (otlp)
        {
            telemetry.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => ctx.Request.Path != "/healthz" && ctx.Request.Path != "/metrics")
                .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", EngineSource)
                .AddOtlpExporter());
        }

        return builder;
    }
}
