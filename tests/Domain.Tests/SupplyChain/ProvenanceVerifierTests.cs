using System.Text;
using Deploy.Engine.Domain.SupplyChain;
using Microsoft.Extensions.Time.Testing;

namespace Deploy.Engine.Domain.Tests.SupplyChain;

public class ProvenanceVerifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Pae_is_the_dsse_v1_encoding_with_byte_lengths()
    {
        Assert.Equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world",
            Encoding.UTF8.GetString(Dsse.Pae("http://example.com/HelloWorld", "hello world"u8)));

        // Lengths count bytes, not characters: "é" is two bytes in UTF-8.
        Assert.Equal("DSSEv1 2 é 0 ", Encoding.UTF8.GetString(Dsse.Pae("é", [])));
    }

    [Theory]
    [InlineData("ecdsa", false, false)]
    [InlineData("ecdsa", true, false)]
    [InlineData("ecdsa", false, true)]
    [InlineData("ed25519", false, false)]
    [InlineData("ed25519", true, false)]
    public void A_valid_attestation_verifies_and_yields_builder_source_and_commit(string algorithm, bool urlSafe, bool p1363)
    {
        using var signer = algorithm == "ecdsa" ? TestSigner.Ecdsa("ci-2026") : TestSigner.Ed25519("ci-2026");
        var envelope = Provenance.Envelope(signer, Provenance.Statement(), urlSafe: urlSafe, p1363: p1363);

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.True(result.Verified, result.Reason);
        Assert.Equal(new ProvenanceFacts(Provenance.Builder, Provenance.Repository, "refs/heads/main", Provenance.Commit, "ci-2026",
            "https://actions.github.io/buildtypes/workflow/v1", Now), result.Facts);
    }

    [Fact]
    public void The_generic_source_shape_and_a_short_ref_are_understood()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement(genericShape: true, repository: "https://github.com/Acme/shop.git", gitRef: "main"));

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.True(result.Verified, result.Reason);
        Assert.Equal("main", result.Facts!.Ref);
        Assert.Equal(Provenance.Commit, result.Facts.Commit);
    }

    [Fact]
    public void Wrong_signer_fails_with_its_own_reason()
    {
        using var trusted = TestSigner.Ecdsa("ci-2026");
        using var intruder = TestSigner.Ecdsa("ci-2026");
        var envelope = Provenance.Envelope(intruder, Provenance.Statement());

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(trusted), Now);

        Assert.Equal(ProvenanceFailure.UntrustedSignature, result.Failure);
        Assert.Equal($"signature by keyid 'ci-2026' does not verify against the trusted key of builder '{Provenance.Builder}'", result.Reason);
    }

    [Fact]
    public void An_unknown_keyid_and_an_anonymous_bad_signature_each_say_so()
    {
        using var trusted = TestSigner.Ed25519("ci-2026");
        using var intruder = TestSigner.Ed25519("laptop");

        var unknown = ProvenanceVerifier.Verify(Provenance.Envelope(intruder, Provenance.Statement()), Provenance.Artifact, Provenance.Policy(trusted), Now);
        var anonymous = ProvenanceVerifier.Verify(Provenance.Envelope(intruder, Provenance.Statement(), keyId: ""), Provenance.Artifact, Provenance.Policy(trusted), Now);

        Assert.Equal("keyid 'laptop' is not trusted", unknown.Reason);
        Assert.Equal($"signature does not verify against any trusted key for builder '{Provenance.Builder}'", anonymous.Reason);
    }

    [Fact]
    public void A_payload_type_changed_after_signing_is_refused()
    {
        using var signer = TestSigner.Ecdsa("k");
        var retyped = Provenance.Envelope(signer, Provenance.Statement(), signedType: "text/plain");
        var wrongType = Provenance.Envelope(signer, Provenance.Statement(), payloadType: "text/plain");

        Assert.Equal(ProvenanceFailure.UntrustedSignature, ProvenanceVerifier.Verify(retyped, Provenance.Artifact, Provenance.Policy(signer), Now).Failure);
        Assert.Equal("payloadType is 'text/plain', expected 'application/vnd.in-toto+json'",
            ProvenanceVerifier.Verify(wrongType, Provenance.Artifact, Provenance.Policy(signer), Now).Reason);
    }

    [Fact]
    public void Wrong_subject_digest_fails_with_its_own_reason()
    {
        using var signer = TestSigner.Ecdsa("k");
        var other = new string('a', 64);
        var envelope = Provenance.Envelope(signer, Provenance.Statement(subjectHex: other));

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.Equal(ProvenanceFailure.SubjectDigestMismatch, result.Failure);
        Assert.Equal($"no subject has digest {Provenance.Artifact} (the release's artifact); subjects: shop-2.0.0.tar.gz sha256:{other}", result.Reason);
    }

    [Fact]
    public void Untrusted_builder_fails_with_its_own_reason()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement());

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer, allowed: ["https://ci.acme.internal/hardened"]), Now);

        Assert.Equal(ProvenanceFailure.BuilderNotAllowed, result.Failure);
        Assert.Equal($"builder '{Provenance.Builder}' is not allowed in environment 'production' (allowed: https://ci.acme.internal/hardened)", result.Reason);
    }

    [Fact]
    public void A_statement_naming_another_builder_than_the_signing_key_is_refused()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement(builder: "https://evil.example/builder"));

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.Equal(ProvenanceFailure.BuilderMismatch, result.Failure);
        Assert.Equal($"the statement names builder 'https://evil.example/builder' but is signed by key 'k' of builder '{Provenance.Builder}'", result.Reason);
    }

    [Theory]
    [InlineData("https://github.com/mallory/shop", "refs/heads/main", "source repository 'https://github.com/mallory/shop' is not service 'shop''s declared source 'https://github.com/acme/shop'")]
    [InlineData("https://github.com/acme/shop", "refs/heads/feature-x", "source ref 'refs/heads/feature-x' is not service 'shop''s declared ref 'refs/heads/main'")]
    public void Wrong_source_fails_with_its_own_reason(string repository, string gitRef, string reason)
    {
        using var signer = TestSigner.Ed25519("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement(repository: repository, gitRef: gitRef));

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.Equal(ProvenanceFailure.SourceMismatch, result.Failure);
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public void Where_a_declared_source_is_required_a_service_without_one_fails()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement());
        var undeclared = Provenance.Policy(signer) with { DeclaredSource = null };

        Assert.True(ProvenanceVerifier.Verify(envelope, Provenance.Artifact, undeclared, Now).Verified);
        Assert.Equal("service 'shop' declares no source (SupplyChain:Services:shop:Repository), so the provenance's source cannot be checked for environment 'production'",
            ProvenanceVerifier.Verify(envelope, Provenance.Artifact, undeclared with { RequireDeclaredSource = true }, Now).Reason);
    }

    [Fact]
    public void A_statement_that_is_not_slsa_v1_is_refused_after_its_signature_checks()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement(predicateType: "https://slsa.dev/provenance/v0.2"));

        var result = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(signer), Now);

        Assert.Equal(ProvenanceFailure.MalformedStatement, result.Failure);
        Assert.Contains("predicateType is 'https://slsa.dev/provenance/v0.2'", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "envelope", "is empty")]
    [InlineData("[]", "envelope", "must be a JSON object {payloadType, payload, signatures}")]
    [InlineData("{\"payload\":\"e30\",\"signatures\":[{\"sig\":\"AA\"}]}", "payloadType", "is required: a string of 1-256 characters")]
    [InlineData("{\"payloadType\":\"t\",\"payload\":\"%%%\",\"signatures\":[{\"sig\":\"AA\"}]}", "payload", "is not valid base64 (standard or URL-safe) or is empty")]
    [InlineData("{\"payloadType\":\"t\",\"payload\":\"e30\",\"signatures\":[]}", "signatures", "is required: a non-empty array of {keyid, sig}")]
    [InlineData("{\"payloadType\":\"t\",\"payload\":\"e30\",\"signatures\":[{\"keyid\":5,\"sig\":\"AA\"}]}", "signatures[0].keyid", "must be a string of at most 256 characters")]
    [InlineData("{\"payloadType\":\"t\",\"payload\":\"e30\",\"signatures\":[{\"sig\":\"A A\"}]}", "signatures[0].sig", "is required: base64 signature bytes (1-1024 bytes)")]
    [InlineData("{\"payloadType\":\"t\",\"payload\":", "envelope", "is not valid JSON")]
    public void Malformed_envelopes_name_the_field(string json, string field, string error)
    {
        Assert.False(Dsse.TryParse(json, out _, out var f, out var e));
        Assert.Equal((field, error), (f, e));
    }

    [Theory]
    [InlineData("aGVsbG8=", "hello")]
    [InlineData("aGVsbG8", "hello")]
    [InlineData("-_8", "\u00fb\u00ff")]
    public void Base64_is_standard_or_url_safe_with_or_without_padding(string text, string latin1)
    {
        Assert.True(Base64Text.TryDecode(text, out var bytes));
        Assert.Equal(latin1, Encoding.Latin1.GetString(bytes));
    }

    [Fact]
    public void A_key_outside_its_validity_does_not_verify_and_says_why()
    {
        using var signer = TestSigner.Ecdsa("k");
        var envelope = Provenance.Envelope(signer, Provenance.Statement());
        var expired = Provenance.Policy(signer, key: signer.Trusted(notAfter: Now.AddDays(-1)));
        var revoked = Provenance.Policy(signer, key: signer.Trusted(revoked: true));

        Assert.Equal($"key 'k' expired at {Now.AddDays(-1):O} (builder '{Provenance.Builder}')",
            ProvenanceVerifier.Verify(envelope, Provenance.Artifact, expired, Now).Reason);
        Assert.Equal($"key 'k' is revoked (builder '{Provenance.Builder}')",
            ProvenanceVerifier.Verify(envelope, Provenance.Artifact, revoked, Now).Reason);
    }

    [Fact]
    public void Rotating_a_key_out_does_not_invalidate_a_release_verified_before()
    {
        var time = new FakeTimeProvider(Now);
        using var old = TestSigner.Ecdsa("ci-2025");
        using var next = TestSigner.Ecdsa("ci-2026");
        var envelope = Provenance.Envelope(old, Provenance.Statement());

        // Verified while the old key was trusted; the verification is recorded with its time.
        var recorded = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, Provenance.Policy(old), time.GetUtcNow()).Facts;
        Assert.NotNull(recorded);

        // A month later the key is rotated: only the new key is trusted, so a fresh check of the same envelope fails...
        time.Advance(TimeSpan.FromDays(30));
        var rotated = Provenance.Policy(next);
        var fresh = ProvenanceVerifier.Verify(envelope, Provenance.Artifact, rotated, time.GetUtcNow());
        Assert.Equal("keyid 'ci-2025' is not trusted", fresh.Reason);

        // ...but the release keeps what was verified: the recorded facts win, and the environment lets it in.
        var facts = SupplyChainDecision.ResolveProvenance(recorded, () => fresh.Facts);
        Assert.Equal(recorded, facts);
        var verdict = SupplyChainDecision.Decide("production", new EnvironmentSupplyChainPolicy { RequireProvenance = true },
            new SupplyChainEvidence { ReleaseId = "rel-1", Provenance = facts }, time.GetUtcNow());
        Assert.True(verdict.Passed, verdict.Reason);

        // A release never verified before the rotation is refused, with the reason.
        var unverified = SupplyChainDecision.Decide("production", new EnvironmentSupplyChainPolicy { RequireProvenance = true },
            new SupplyChainEvidence { ReleaseId = "rel-2", ProvenanceRejections = [fresh.Reason] }, time.GetUtcNow());
        Assert.False(unverified.Passed);
        Assert.Equal("release 'rel-2' has no verified provenance attestation for environment 'production', which requires one "
            + "(attached attestations were refused: keyid 'ci-2025' is not trusted); attach a DSSE-signed SLSA v1 provenance with POST /v1/releases/rel-2/attestations",
            unverified.Reason);
    }

    [Theory]
    [InlineData("https://github.com/Acme/Shop.git", "github.com/acme/shop")]
    [InlineData("git+https://github.com/acme/shop@refs/heads/main", "github.com/acme/shop")]
    [InlineData("github.com/acme/shop/", "github.com/acme/shop")]
    public void Repository_names_normalise(string name, string normal) => Assert.Equal(normal, SourceNames.Normalize(name));
}
