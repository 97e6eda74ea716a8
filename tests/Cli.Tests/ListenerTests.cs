extern alias cli;

using System.Text;
using cli::Deploy.Engine.Cli;

namespace Deploy.Engine.Cli.Tests;

/// <summary>The local receivers of <c>deployctl webhooks listen</c> and <c>deployctl otlp listen</c>: what they check and read.</summary>
public sealed class ListenerTests
{
    // The Standard Webhooks test vector (docs/webhooks.md).
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string Id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string Timestamp = "1614265330";
    private const string Signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"test\": 2432232314}");
    private static readonly DateTimeOffset SentAt = DateTimeOffset.FromUnixTimeSeconds(1614265330);

    [Fact]
    public void The_webhook_receiver_verifies_the_standard_vector_and_refuses_a_changed_body_a_wrong_key_or_an_old_timestamp()
    {
        Assert.True(WebhookListener.Verify(Secret, Id, Timestamp, "v1,bm90IGl0 " + Signature, Body, SentAt.AddMinutes(4)));
        Assert.False(WebhookListener.Verify(Secret, Id, Timestamp, Signature, Encoding.UTF8.GetBytes("{\"test\": 2432232315}"), SentAt));
        Assert.False(WebhookListener.Verify("whsec_" + Convert.ToBase64String(new byte[24]), Id, Timestamp, Signature, Body, SentAt));
        Assert.False(WebhookListener.Verify(Secret, Id, Timestamp, Signature, Body, SentAt.AddMinutes(6)));
        Assert.False(WebhookListener.Verify(Secret, Id, "not a time", Signature, Body, SentAt));
    }

    [Fact]
    public void The_otlp_receiver_reads_a_spans_name_ids_duration_deploy_attributes_and_markers()
    {
        var traceId = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var span = Message(
            Bytes(1, traceId), Bytes(2, [9, 9, 9, 9, 9, 9, 9, 9]), Text(5, "rollout.reconcile"),
            Fixed64(7, 1_000_000_000), Fixed64(8, 1_002_500_000),
            Bytes(9, KeyValue("deploy.release", Message(Text(1, "rel-1")))),
            Bytes(9, KeyValue("deploy.hosts", Message(Varint(3, 50)))),
            Bytes(11, Message(Fixed64(1, 1_001_000_000), Text(2, "deploy.rollout.started"), Bytes(3, KeyValue("deploy.version", Message(Text(1, "2.0.0")))))));
        var resource = Message(Bytes(1, KeyValue("service.name", Message(Text(1, "deploy-engine")))));
        var request = Message(Bytes(1, Message(Bytes(1, resource), Bytes(2, Message(Bytes(1, Message(Text(1, "Deploy.Engine"))), Bytes(2, span))))));

        var read = Assert.Single(OtlpListener.Spans(request));

        Assert.Equal("0102030405060708090a0b0c0d0e0f10", read.TraceId);
        Assert.Equal("0909090909090909", read.SpanId);
        Assert.Equal("rollout.reconcile", read.Name);
        Assert.Equal("deploy-engine", read.Service);
        Assert.Equal(2.5, read.DurationMs);
        Assert.Equal("rel-1", read.Attributes["deploy.release"]);
        Assert.Equal("50", read.Attributes["deploy.hosts"]);
        Assert.Equal(["deploy.rollout.started deploy.version=2.0.0"], read.Events);
    }

    [Fact]
    public void The_otlp_receiver_skips_what_it_cannot_read()
    {
        Assert.Empty(OtlpListener.Spans([0x0a, 0xff, 0xff]));         // a length beyond the message
        Assert.Empty(OtlpListener.Spans([]));
    }

    private static byte[] Message(params byte[][] fields) => fields.SelectMany(f => f).ToArray();

    private static byte[] KeyValue(string key, byte[] anyValue) => Message(Text(1, key), Bytes(2, anyValue));

    private static byte[] Text(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

    private static byte[] Bytes(int field, byte[] value) => Message(VarintBytes((ulong)(field << 3 | 2)), VarintBytes((ulong)value.Length), value);

    private static byte[] Varint(int field, ulong value) => Message(VarintBytes((ulong)(field << 3)), VarintBytes(value));

    private static byte[] Fixed64(int field, ulong value) => Message(VarintBytes((ulong)(field << 3 | 1)), BitConverter.GetBytes(value));

    private static byte[] VarintBytes(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return bytes.ToArray();
    }
}
