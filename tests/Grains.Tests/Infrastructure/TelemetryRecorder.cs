using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Deploy.Engine.Grains.Telemetry;

namespace Deploy.Engine.Grains.Tests.Infrastructure;

/// <summary>
/// Records what the engine's ActivitySource and Meter emit in this process (the test cluster's silos run in it):
/// finished spans, and the measurements of the engine's counters with their tags. Other tests run at the same time,
/// so assertions filter by what is unique to the test (an environment, a rollout id).
/// </summary>
public sealed class TelemetryRecorder : IDisposable
{
    private readonly ActivityListener _spans;
    private readonly MeterListener _meter = new();
    private readonly ConcurrentQueue<Activity> _finished = new();
    private readonly ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = new();

    public TelemetryRecorder()
    {
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EngineTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _finished.Enqueue,
        };
        ActivitySource.AddActivityListener(_spans);
        _meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EngineTelemetry.Name) listener.EnableMeasurementEvents(instrument);
        };
        _meter.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags) copy[tag.Key] = tag.Value;
            _measurements.Enqueue((instrument.Name, value, copy));
        });
        _meter.Start();
    }

    public IReadOnlyList<Activity> Spans(string name) => _finished.Where(s => s.OperationName == name).ToList();

    /// <summary>The sum of a counter's measurements whose tags include every one given.</summary>
    public long Sum(string instrument, params (string Key, string Value)[] tags) =>
        _measurements.Where(m => m.Instrument == instrument && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value))).Sum(m => m.Value);

    public static string? Tag(Activity span, string key) => span.GetTagItem(key)?.ToString();

    public void Dispose()
    {
        _spans.Dispose();
        _meter.Dispose();
    }
}
