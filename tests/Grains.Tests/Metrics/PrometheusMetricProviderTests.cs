using Deploy.Engine.Grains.Metrics;
using Deploy.Engine.Grains.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Deploy.Engine.Grains.Tests.Metrics;

/// <summary>The Prometheus provider against a fake Prometheus (real Kestrel on loopback); no Orleans.</summary>
public sealed class PrometheusMetricProviderTests : IAsyncLifetime
{
    private const string Token = "s3cr3t-prometheus-token";
    private const string Latency = "latency_ms{version=\"{{version}}\", env=\"{{ environment }}\"}";

    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private PrometheusStub _stub = null!;
    private ServiceProvider? _services;

    public async Task InitializeAsync() => _stub = await PrometheusStub.StartAsync();

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Fills_the_template_and_sends_a_range_query()
    {
        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Empty(result.Values);
        var call = Assert.Single(_stub.Calls);
        Assert.Equal("latency_ms{version=\"2.0.0\", env=\"prod-eu:1\"}", call.Query);
        Assert.Equal("1700000000", call.Start);
        Assert.Equal("1700000300.5", call.End);
        Assert.Equal("15", call.Step);
        Assert.Null(call.Authorization);
    }

    [Theory]
    [InlineData("2.0.0\"} or up{a=\"")]
    [InlineData("2.0.0\" # comment")]
    [InlineData("2.0.0\n")]
    [InlineData("x{y}")]
    [InlineData("a\\\"")]
    [InlineData("")]
    public async Task Refuses_a_value_that_could_change_the_query_and_sends_nothing(string version)
    {
        var result = await Provider().QueryRange(Query(version: version), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith("variable 'version' has a value PromQL could misread", result.Error);
        Assert.Empty(_stub.Calls);
    }

    [Theory]
    [InlineData("latency_ms{version=\"{{service}}\"}", "query uses {{service}}, which has no value")]
    [InlineData("latency_ms{version=\"{{version}\"}", "query has a malformed {{placeholder}}")]
    [InlineData("latency_ms{version=\"{{ver sion}}\"}", "query has a malformed {{placeholder}}")]
    public async Task Refuses_a_template_it_cannot_fill(string template, string expected)
    {
        var result = await Provider().QueryRange(Query() with { Query = template }, CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal(expected, result.Error);
        Assert.Empty(_stub.Calls);
    }

    [Fact]
    public async Task Returns_the_samples_of_every_series_in_time_order()
    {
        _stub.Answer((200, PrometheusStub.Matrix(
            ("1.0.0", [(1_700_000_000, "10"), (1_700_000_030, "12.5")]),
            ("2.0.0", [(1_700_000_015, "11"), (1_700_000_030, "13e0")]))));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Equal([10, 11, 12.5, 13], result.Values);
    }

    [Fact]
    public async Task Keeps_NaN_and_infinities()
    {
        _stub.Answer((200, PrometheusStub.Matrix(("2.0.0", [(1, "NaN"), (2, "+Inf"), (3, "-Inf"), (4, "0.25")]))));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(4, result.Values.Count);
        Assert.True(double.IsNaN(result.Values[0]));
        Assert.Equal(double.PositiveInfinity, result.Values[1]);
        Assert.Equal(double.NegativeInfinity, result.Values[2]);
        Assert.Equal(0.25, result.Values[3]);
    }

    [Fact]
    public async Task Reports_prometheus_error_answers_without_retrying_a_bad_query()
    {
        var longMessage = "1:12: parse error: unexpected " + new string('x', 400);
        _stub.Answer((400, $$"""{"status":"error","errorType":"bad_data","error":"{{longMessage}}"}"""));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith("Prometheus 'main' answered 400: bad_data: 1:12: parse error: unexpected xxx", result.Error);
        Assert.True(result.Error!.Length <= 340, result.Error);
        Assert.EndsWith("…", result.Error);
        Assert.Single(_stub.Calls);
    }

    [Fact]
    public async Task Reports_an_error_status_even_with_a_200()
    {
        _stub.Answer((200, """{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}"""));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal("Prometheus 'main' refused the query: execution: query timed out in expression evaluation", result.Error);
        Assert.Empty(result.Values);
    }

    [Theory]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}""", "answer's resultType is vector, not matrix")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["1","1"]]}]}}""", "a sample in the answer is not a [unix time, \"value\"] pair")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1]]}]}}""", "a sample in the answer is not a [unix time, \"value\"] pair")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1",2]]}]}}""", "a sample in the answer is not a [unix time, \"value\"] pair")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"one"]]}]}}""", "a sample in the answer is not a [unix time, \"value\"] pair")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix"}}""", "answer has no data.result")]
    [InlineData("""{"status":"ok"}""", "answer's status is neither \"success\" nor \"error\"")]
    [InlineData("<html>proxy error</html>", "answer is not Prometheus API JSON")]
    public async Task Refuses_answers_that_are_not_a_matrix_of_samples(string body, string reason)
    {
        _stub.Answer((200, body));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith($"Prometheus 'main' sent an unusable answer: {reason}", result.Error);
    }

    [Fact]
    public async Task Refuses_an_answer_larger_than_the_limit_without_reading_it_all()
    {
        var samples = Enumerable.Range(0, 400).Select(i => ((double)i, "1.5")).ToArray();
        _stub.Answer((200, PrometheusStub.Matrix(("2.0.0", samples))));

        var result = await Provider(("Metrics:MaxResponseBytes", "2048")).QueryRange(Query(), CancellationToken.None);

        Assert.Equal("Prometheus 'main' answered more than 2048 bytes (Metrics:MaxResponseBytes); narrow the query", result.Error);
        Assert.False(result.Ok);
    }

    [Fact]
    public async Task Refuses_an_answer_with_more_samples_than_allowed()
    {
        _stub.Answer((200, PrometheusStub.Matrix(("1.0.0", [(1, "1"), (2, "2")]), ("2.0.0", [(1, "1"), (2, "2")]))));

        var result = await Provider(("Metrics:MaxSamples", "3")).QueryRange(Query(), CancellationToken.None);

        Assert.Equal("Prometheus 'main' sent an unusable answer: answer has more than 3 samples (Metrics:MaxSamples)", result.Error);
    }

    [Fact]
    public async Task Retries_an_unavailable_prometheus_until_it_answers()
    {
        _stub.Answer((503, """{"status":"error","errorType":"unavailable","error":"starting"}"""), (200, PrometheusStub.Matrix(("2.0.0", [(1, "7")]))));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.True(result.Ok, result.Error);
        Assert.Equal([7.0], result.Values);
        Assert.Equal(2, _stub.Calls.Count);
    }

    [Fact]
    public async Task Gives_up_on_a_prometheus_that_stays_unavailable()
    {
        _stub.Answer((503, """{"status":"error","errorType":"unavailable","error":"starting"}"""));

        var result = await Provider().QueryRange(Query(), CancellationToken.None);

        Assert.Equal("Prometheus 'main' answered 503 after 3 attempts: unavailable: starting", result.Error);
        Assert.Equal(3, _stub.Calls.Count);
    }

    [Fact]
    public async Task Times_out_a_slow_answer()
    {
        _stub.Behave(async (_, response, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            await PrometheusStub.Write(response, 200, PrometheusStub.EmptyMatrix, ct);
        });

        var result = await Provider(
                ("Metrics:AttemptTimeout", "00:00:00.300"), ("Metrics:TotalTimeout", "00:00:02"), ("Metrics:MaxAttempts", "2"))
            .QueryRange(Query(), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.StartsWith("Prometheus 'main' timed out after 2 attempts (0.3s per attempt, 2s in all)", result.Error);
    }

    [Fact]
    public async Task Sends_the_token_and_never_returns_it()
    {
        // A hostile or careless server echoes the request headers in its error.
        _stub.Behave((call, response, ct) => PrometheusStub.Write(
            response, 422, $$"""{"status":"error","errorType":"execution","error":"denied for {{call.Authorization}}"}""", ct));

        var result = await Provider(("Metrics:Prometheus:main:Token", Token)).QueryRange(Query(), CancellationToken.None);

        Assert.Equal($"Bearer {Token}", Assert.Single(_stub.Calls).Authorization);
        Assert.Equal("Prometheus 'main' answered 422: execution: denied for Bearer [redacted]", result.Error);
    }

    [Fact]
    public async Task Names_an_unknown_provider_without_calling_anyone()
    {
        var result = await Provider().QueryRange(Query() with { Provider = "elsewhere" }, CancellationToken.None);

        Assert.Equal(new MetricSeriesResult(false, result.Values, "no Prometheus named 'elsewhere' is configured"), result);
        Assert.Empty(_stub.Calls);
    }

    [Theory]
    [InlineData("Metrics:Prometheus:remote:Url", "http://prometheus.example.com/", "Metrics:Prometheus:remote:Token is only sent over https (or to a loopback Prometheus).")]
    [InlineData("Metrics:Prometheus:remote:Url", "ftp://prometheus.example.com/", "Metrics:Prometheus:remote:Url must be an absolute http or https URL.")]
    public void Refuses_a_misconfigured_provider_at_start(string key, string value, string expected)
    {
        var services = Build((key, value), ("Metrics:Prometheus:remote:Token", Token));

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<MetricsOptions>>().Value);

        Assert.Contains(expected, e.Failures);
        Assert.DoesNotContain(e.Failures, f => f.Contains(Token, StringComparison.Ordinal));
    }

    private static MetricQuery Query(string version = "2.0.0") => new(
        "main", Latency, Start, Start.AddSeconds(300.5), TimeSpan.FromSeconds(15),
        new Dictionary<string, string> { ["version"] = version, ["environment"] = "prod-eu:1" });

    /// <summary>Prometheus "main" on the stub; short retry delays so failures are quick.</summary>
    private IMetricProvider Provider(params (string Key, string Value)[] overrides) =>
        Build([("Metrics:Prometheus:main:Url", _stub.BaseAddress.ToString()), .. overrides]).GetRequiredService<IMetricProvider>();

    private ServiceProvider Build(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Metrics:AttemptTimeout"] = "00:00:05",
            ["Metrics:TotalTimeout"] = "00:00:20",
            ["Metrics:RetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        _services = new ServiceCollection().AddLogging().AddMetricProviders(configuration).BuildServiceProvider();
        return _services;
    }
}
