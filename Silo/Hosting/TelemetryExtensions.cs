using Deploy.Engine.Grains.Telemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>Bound from configuration section "Telemetry". OTLP is off unless an endpoint is given here or in OTEL_EXPORTER_OTLP_ENDPOINT.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>An OTLP receiver (collector, Jaeger, Tempo...), e.g. http://127.0.0.1:4317 (gRPC) or http://127.0.0.1:4318 (HTTP).</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Record traces even with no OTLP endpoint (for an exporter added in code, as the tests do).</summary>
    public bool Tracing { get; set; }
}

public static class TelemetryExtensions
{
    public const string EngineSource = EngineTelemetry.Name;

    /// <summary>
    /// Metrics through OpenTelemetry (ASP.NET Core, Orleans, runtime and the engine's own <c>Deploy.Engine</c> meter) on a
    /// Prometheus scrape endpoint at /metrics, and OTLP export of metrics and traces when an endpoint is configured
    /// (<see cref="TelemetryOptions.OtlpEndpoint"/> or OTEL_EXPORTER_OTLP_ENDPOINT). Traces (API request → grain calls →
    /// the engine's spans → outbound HTTP) are recorded only then, or with Telemetry:Tracing: with a listener, every API
    /// request builds and tags an activity, and with nobody to export it to that was about a tenth of the API's GET
    /// throughput for nothing (measured with deploy/bench.sh --only api).
    /// </summary>
    public static WebApplicationBuilder AddDeployEngineTelemetry(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var configured = !string.IsNullOrWhiteSpace(settings.OtlpEndpoint);
        var otlp = configured || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var protocol = settings.OtlpProtocol.Equals("http/protobuf", StringComparison.OrdinalIgnoreCase) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;

        // Set in code, an HTTP endpoint is used as given, so the signal's path is added here (the environment variable adds it itself).
        void Otlp(OtlpExporterOptions o, string signal)
        {
            if (!configured) return;
            o.Protocol = protocol;
            var endpoint = settings.OtlpEndpoint!.TrimEnd('/');
            o.Endpoint = new Uri(protocol == OtlpExportProtocol.HttpProtobuf ? $"{endpoint}/v1/{signal}" : endpoint);
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("deploy-engine"))
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation()
                    .AddMeter("Microsoft.Orleans", EngineSource)
                    .AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter(o => Otlp(o, "metrics"));
            });
        if (otlp || settings.Tracing)
        {
            telemetry.WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation(o => o.Filter = ctx => ctx.Request.Path != "/healthz" && ctx.Request.Path != "/metrics")
                    .AddHttpClientInstrumentation()
                    .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", EngineSource);
                if (otlp) t.AddOtlpExporter(o => Otlp(o, "traces"));
            });
        }

        return builder;
    }
}
