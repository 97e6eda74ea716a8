using System.Security.Cryptography;
using System.Text;
using Deploy.Engine.Domain.Governance;
using Deploy.Engine.Domain.SupplyChain;
using Deploy.Engine.Grains.Events;
using Deploy.Engine.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Deploy.Engine.Grains.SupplyChain;

[GenerateSerializer]
[Alias("ReleaseEvidenceState")]
public sealed class ReleaseEvidenceState
{
    [Id(0)] public List<StoredAttestation> Attestations { get; set; } = [];

    /// <summary>Environment → the facts verified for it, recorded when verified and never re-judged (key rotation safe).</summary>
    [Id(1)] public Dictionary<string, VerifiedProvenance> Verified { get; set; } = [];

    /// <summary>Environment → why kept attestations were refused there (latest first, a few).</summary>
    [Id(2)] public Dictionary<string, List<string>> Rejections { get; set; } = [];

    /// <summary>Why attestations were refused outright (signature, subject, source), latest first, a few.</summary>
    [Id(3)] public List<string> RefusedAttestations { get; set; } = [];

    /// <summary>The CycloneDX JSON as attached.</summary>
    [Id(4)] public string? Sbom { get; set; }

    [Id(5)] public string? SbomAttachedBy { get; set; }

    [Id(6)] public DateTimeOffset? SbomAttachedAt { get; set; }

    [Id(7)] public List<WaiverSnapshot> Waivers { get; set; } = [];
}

[GenerateSerializer]
[Alias("StoredAttestation")]
public sealed class StoredAttestation
{
    [Id(0)] public string Envelope { get; set; } = string.Empty;

    /// <summary>sha256 of the envelope text: attaching the same envelope again changes nothing.</summary>
    [Id(1)] public string Sha256 { get; set; } = string.Empty;

    [Id(2)] public string AttachedBy { get; set; } = string.Empty;

    [Id(3)] public DateTimeOffset AttachedAt { get; set; }
}

/// <summary>
/// The supply-chain evidence of one release, kept apart from the release grain so that grain stays small. An
/// attestation is verified when attached (signature, subject and source for every environment; the builder
/// allow-list per configured environment) and the verified facts are recorded per environment; an environment first
/// configured later is verified when the gate first asks. Recorded facts are never re-judged, so rotating or revoking
/// a key does not invalidate a release verified before.
/// </summary>
public sealed partial class ReleaseEvidenceGrain(
    [PersistentState("release-evidence", Stores.Blob)] IPersistentState<ReleaseEvidenceState> state,
    SupplyChainPolicies policies,
    TimeProvider clock,
    ILogger<ReleaseEvidenceGrain> logger) : Grain, IReleaseEvidenceGrain
{
    public const int MaxAttestations = 16;

    public const int MaxWaivers = 256;

    private const int KeptRejections = 3;

    private (string Json, CycloneDxBom Bom)? _parsedSbom;

    private string ReleaseId => this.GetPrimaryKeyString();

    private ReleaseEvidenceState S => state.State;

    private EventPublisher Events => new(this.GetStreamProvider(Stores.Events), GrainKeys.ReleaseEvents(ReleaseId), clock);

    public async Task<CommandResult<AttestationResult>> AttachAttestation(string envelopeJson, EvidenceActor actor)
    {
        if (await Release() is not { } release)
        {
            return CommandResult<AttestationResult>.Fail(ErrorKind.NotFound, $"release '{ReleaseId}' does not exist");
        }

        if (!Dsse.TryParse(envelopeJson, out var envelope, out var field, out var error))
        {
            return CommandResult<AttestationResult>.Fail(ErrorKind.Validation, $"malformed DSSE envelope: {field} {error}",
                new Dictionary<string, string[]> { [field] = [error] });
        }

        var now = clock.GetUtcNow();
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(envelopeJson)));
        if (S.Attestations.All(a => a.Sha256 != digest) && S.Attestations.Count >= MaxAttestations)
        {
            return CommandResult<AttestationResult>.Fail(ErrorKind.Conflict, $"release '{ReleaseId}' already holds {MaxAttestations} attestations");
        }

        // Signature, subject and source do not depend on the environment: failing them refuses the attestation outright.
        var overall = ProvenanceVerifier.Verify(envelope!, release.Artifact, policies.Provenance(null, release.Service), now);
        // A verified statement about another commit than the release claims is refused like a bad signature: the
        // release would otherwise carry evidence for code it does not contain.
        var refusal = !overall.Verified ? overall.Reason : ClaimRules.CommitMismatch(release.Id, release.Commit, overall.Facts!.Commit);
        if (refusal is not null)
        {
            LogRefused(logger, ReleaseId, refusal);
            Remember(S.RefusedAttestations, refusal);
            await state.WriteStateAsync();
            await Events.Publish(EventTypes.AttestationRejected, Subject, refusal, Data(actor, release, null, null));
            return CommandResult<AttestationResult>.Fail(ErrorKind.PolicyRefused, $"attestation refused: {refusal}");
        }

        if (S.Attestations.All(a => a.Sha256 != digest))
        {
            S.Attestations.Add(new StoredAttestation { Envelope = envelopeJson, Sha256 = digest, AttachedBy = actor.Name, AttachedAt = now });
        }

        var verified = new List<(string Environment, VerifiedProvenance Facts)>();
        var rejected = new List<(string Environment, string Reason)>();
        foreach (var environment in policies.Environments.Where(e => !S.Verified.ContainsKey(e)))
        {
            var result = ProvenanceVerifier.Verify(envelope!, release.Artifact, policies.Provenance(environment, release.Service), now);
            if (result.Verified)
            {
                S.Verified[environment] = Wire(result.Facts!);
                S.Rejections.Remove(environment);
                verified.Add((environment, S.Verified[environment]));
            }
            else
            {
                Remember(S.Rejections.TryGetValue(environment, out var list) ? list : S.Rejections[environment] = [], result.Reason);
                rejected.Add((environment, result.Reason));
            }
        }

        await state.WriteStateAsync();
        var facts = Wire(overall.Facts!);
        if (verified.Count == 0 && rejected.Count == 0)
        {
            await Events.Publish(EventTypes.AttestationVerified, Subject, "signature, subject and source verified", Data(actor, release, null, facts));
        }

        foreach (var (environment, f) in verified)
        {
            await Events.Publish(EventTypes.AttestationVerified, Subject, $"verified for environment '{environment}'", Data(actor, release, environment, f));
        }

        foreach (var (environment, reason) in rejected)
        {
            await Events.Publish(EventTypes.AttestationRejected, Subject, reason, Data(actor, release, environment, facts));
        }

        return CommandResult<AttestationResult>.Success(new AttestationResult
        {
            ReleaseId = ReleaseId,
            Provenance = facts,
            Environments = EnvironmentViews(),
        });
    }

    public async Task<CommandResult<SbomFindingsView>> AttachSbom(string sbomJson, EvidenceActor actor)
    {
        if (await Release() is not { } release)
        {
            return CommandResult<SbomFindingsView>.Fail(ErrorKind.NotFound, $"release '{ReleaseId}' does not exist");
        }

        if (!CycloneDxParser.TryParse(sbomJson, out var bom, out var field, out var error))
        {
            return CommandResult<SbomFindingsView>.Fail(ErrorKind.Validation, $"malformed CycloneDX SBOM: {field} {error}",
                new Dictionary<string, string[]> { [field] = [error] });
        }

        S.Sbom = sbomJson;
        S.SbomAttachedBy = actor.Name;
        S.SbomAttachedAt = clock.GetUtcNow();
        _parsedSbom = (sbomJson, bom!);
        await state.WriteStateAsync();
        var view = FindingsView(release);
        var blocked = view.Environments.Where(e => !e.Passed).Select(e => e.Environment).ToList();
        await Events.Publish(EventTypes.SbomAttached, Subject,
            $"CycloneDX {bom!.SpecVersion}: {bom.Components.Count} component(s), {bom.Vulnerabilities.Count} vulnerability record(s)"
            + (blocked.Count == 0 ? string.Empty : $"; findings block {string.Join(", ", blocked)}"),
            Data(actor, release, null, null));
        return CommandResult<SbomFindingsView>.Success(view);
    }

    public async Task<CommandResult<WaiverSnapshot>> GrantWaiver(WaiverDraft draft)
    {
        if (await Release() is not { } release)
        {
            return CommandResult<WaiverSnapshot>.Fail(ErrorKind.NotFound, $"release '{ReleaseId}' does not exist");
        }

        if (SeparationOfDuties.Refusal(release.Authors(), draft.Approver.Name, release.Id, Authorisation.Waive) is { } selfWaiver)
        {
            return CommandResult<WaiverSnapshot>.Fail(ErrorKind.PolicyRefused, selfWaiver);
        }

        var now = clock.GetUtcNow();
        static CommandResult<WaiverSnapshot> Invalid(string field, string message) =>
            CommandResult<WaiverSnapshot>.Fail(ErrorKind.Validation, $"{field}: {message}", new Dictionary<string, string[]> { [field] = [message] });

        if (Bom() is not { } bom)
        {
            return Invalid("finding", $"release '{ReleaseId}' has no SBOM, so it has no findings to waive");
        }

        if (draft.ExpiresAt <= now)
        {
            return Invalid("expiresAt", "must be in the future");
        }

        if (draft.ExpiresAt > now + policies.MaxWaiverDuration)
        {
            return Invalid("expiresAt", $"may be at most {policies.MaxWaiverDuration.TotalDays:0.##} days ahead (SupplyChain:MaxWaiverDuration)");
        }

        var findings = SbomEvaluator.Findings(bom, policies.Environment(draft.Environment).Sbom);
        if (findings.All(f => f.Id != draft.Finding))
        {
            var known = findings.Count == 0 ? "it has none" : "its findings are: " + string.Join(", ", findings.Take(10).Select(f => f.Id));
            return Invalid("finding", $"is not a finding of release '{ReleaseId}' in environment '{draft.Environment}'; {known}");
        }

        if (S.Waivers.Count >= MaxWaivers)
        {
            return CommandResult<WaiverSnapshot>.Fail(ErrorKind.Conflict, $"release '{ReleaseId}' already holds {MaxWaivers} waivers");
        }

        var waiver = new WaiverSnapshot
        {
            Finding = draft.Finding,
            Environment = draft.Environment,
            Approver = draft.Approver.Name,
            Reason = draft.Reason,
            ExpiresAt = draft.ExpiresAt,
            GrantedAt = now,
        };
        S.Waivers.Add(waiver);
        await state.WriteStateAsync();
        var data = Data(draft.Approver, release, draft.Environment, null);
        data["finding"] = draft.Finding;
        data["expiresAt"] = draft.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        await Events.Publish(EventTypes.WaiverGranted, Subject, draft.Reason, data);
        return CommandResult<WaiverSnapshot>.Success(waiver);
    }

    [ReadOnly]
    public Task<string?> GetLatestEnvelope() => Task.FromResult(S.Attestations.Count == 0 ? null : S.Attestations[^1].Envelope);

    [ReadOnly]
    public async Task<ProvenanceView?> GetProvenance() =>
        await Release() is null ? null : new ProvenanceView { ReleaseId = ReleaseId, Attestations = S.Attestations.Count, Environments = EnvironmentViews() };

    [ReadOnly]
    public async Task<SbomFindingsView?> GetSbomFindings() => await Release() is { } release ? FindingsView(release) : null;

    public async Task<SupplyChainCheck> Check(string environment)
    {
        var policy = policies.Environment(environment);
        if (!policy.RequireProvenance && !policy.ChecksSbom)
        {
            return new SupplyChainCheck { Passed = true, Reason = $"environment '{environment}' has no supply-chain policy" };
        }

        if (await Release() is not { } release)
        {
            return new SupplyChainCheck { Passed = false, Reason = $"release '{ReleaseId}' does not exist" };
        }

        var now = clock.GetUtcNow();
        S.Verified.TryGetValue(environment, out var recorded);
        if (policy.RequireProvenance && recorded is null && S.Attestations.Count > 0)
        {
            // An environment configured after the attestations were attached: verify them now, against today's keys.
            recorded = await VerifyKeptAttestations(release, environment, now);
        }

        if (recorded is not null && ClaimRules.CommitMismatch(release.Id, release.Commit, recorded.Commit) is { } mismatch)
        {
            return new SupplyChainCheck { Passed = false, Reason = mismatch };
        }

        var rejections = (S.Rejections.TryGetValue(environment, out var r) ? r : []).Concat(S.RefusedAttestations).ToList();
        var verdict = SupplyChainDecision.Decide(environment, policy, new SupplyChainEvidence
        {
            ReleaseId = ReleaseId,
            Provenance = recorded is null ? null : Domain(recorded),
            ProvenanceRejections = rejections,
            Sbom = Bom(),
            Waivers = Waivers(release),
        }, now);
        return new SupplyChainCheck { Passed = verdict.Passed, Reason = verdict.Reason };
    }

    private async Task<VerifiedProvenance?> VerifyKeptAttestations(Interfaces.ReleaseSnapshot release, string environment, DateTimeOffset now)
    {
        var policy = policies.Provenance(environment, release.Service);
        foreach (var kept in S.Attestations)
        {
            var result = ProvenanceVerifier.Verify(kept.Envelope, release.Artifact, policy, now);
            if (result.Verified)
            {
                var facts = S.Verified[environment] = Wire(result.Facts!);
                S.Rejections.Remove(environment);
                await state.WriteStateAsync();
                await Events.Publish(EventTypes.AttestationVerified, Subject, $"verified for environment '{environment}'",
                    Data(new EvidenceActor { Name = "engine", Roles = ["engine"] }, release, environment, facts));
                return facts;
            }

            if (!S.Rejections.TryGetValue(environment, out var list) || !list.Contains(result.Reason))
            {
                Remember(S.Rejections.TryGetValue(environment, out var l) ? l : S.Rejections[environment] = [], result.Reason);
                await state.WriteStateAsync();
            }
        }

        return null;
    }

    private List<EnvironmentProvenance> EnvironmentViews() => policies.Environments
        .Concat(S.Verified.Keys)
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)
        .Select(e => new EnvironmentProvenance
        {
            Environment = e,
            Required = policies.Environment(e).RequireProvenance,
            Verified = S.Verified.GetValueOrDefault(e),
            Rejections = S.Verified.ContainsKey(e) ? [] : (S.Rejections.TryGetValue(e, out var r) ? r.ToList() : []),
        })
        .ToList();

    private SbomFindingsView FindingsView(Interfaces.ReleaseSnapshot release)
    {
        var bom = Bom();
        var now = clock.GetUtcNow();
        var environments = new List<EnvironmentSbomFindings>();
        foreach (var environment in policies.Environments)
        {
            var policy = policies.Environment(environment);
            if (!policy.ChecksSbom)
            {
                continue;
            }

            var verdict = SupplyChainDecision.Decide(environment, policy with { RequireProvenance = false },
                new SupplyChainEvidence { ReleaseId = release.Id, Sbom = bom, Waivers = Waivers(release) }, now);
            environments.Add(new EnvironmentSbomFindings
            {
                Environment = environment,
                Passed = verdict.Passed,
                Reason = verdict.Reason,
                Findings = verdict.Findings.Select(f => new SbomFindingView
                {
                    Id = f.Finding.Id,
                    Kind = f.Finding.Kind.ToString(),
                    Component = f.Finding.Component,
                    Detail = f.Finding.Detail,
                    Blocking = f.Blocking,
                    WaivedBy = f.WaivedBy is null ? null : S.Waivers.LastOrDefault(w => w.Finding == f.WaivedBy.FindingId
                        && w.Environment == f.WaivedBy.Environment && w.ExpiresAt == f.WaivedBy.ExpiresAt),
                }).ToList(),
            });
        }

        return new SbomFindingsView
        {
            ReleaseId = release.Id,
            HasSbom = bom is not null,
            Components = bom?.Components.Count ?? 0,
            Vulnerabilities = bom?.Vulnerabilities.Count ?? 0,
            Environments = environments,
            Waivers = S.Waivers.ToList(),
        };
    }

    private CycloneDxBom? Bom()
    {
        if (S.Sbom is null)
        {
            return null;
        }

        if (_parsedSbom is { } cached && ReferenceEquals(cached.Json, S.Sbom))
        {
            return cached.Bom;
        }

        if (!CycloneDxParser.TryParse(S.Sbom, out var bom, out _, out _))
        {
            return null;
        }

        _parsedSbom = (S.Sbom, bom!);
        return bom;
    }

    /// <summary>The waivers that count: none granted by a key that submitted or deployed the release (four eyes).</summary>
    private List<Waiver> Waivers(Interfaces.ReleaseSnapshot release) =>
        S.Waivers.Where(w => release.Authors().RoleOf(w.Approver) is null)
            .Select(w => new Waiver(w.Finding, w.Environment, w.Approver, w.Reason, w.ExpiresAt)).ToList();

    private Task<Interfaces.ReleaseSnapshot?> Release() => GrainFactory.Ref<IReleaseGrain>(ReleaseId).Get();

    private string Subject => "release/" + ReleaseId;

    private static void Remember(List<string> list, string reason)
    {
        list.Remove(reason);
        list.Insert(0, reason);
        if (list.Count > KeptRejections)
        {
            list.RemoveRange(KeptRejections, list.Count - KeptRejections);
        }
    }

    private static Dictionary<string, string> Data(EvidenceActor actor, Interfaces.ReleaseSnapshot release, string? environment, VerifiedProvenance? facts)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["actor"] = actor.Name,
            ["role"] = string.Join(',', actor.Roles),
            ["release"] = release.Id,
            ["service"] = release.Service,
            ["artifact"] = release.Artifact,
        };
        if (environment is not null) data["environment"] = environment;
        if ((facts?.Commit ?? release.Commit) is { } commit) data["commit"] = commit;
        if (facts is not null)
        {
            data["builder"] = facts.Builder;
            data["keyid"] = facts.KeyId;
            if (facts.SourceRepository is { } repository) data["source"] = repository;
            if (facts.Ref is { } gitRef) data["ref"] = gitRef;
        }

        return data;
    }

    private static VerifiedProvenance Wire(ProvenanceFacts f) => new()
    {
        Builder = f.Builder,
        SourceRepository = f.SourceRepository,
        Ref = f.Ref,
        Commit = f.Commit,
        KeyId = f.KeyId,
        BuildType = f.BuildType,
        VerifiedAt = f.VerifiedAt,
    };

    private static ProvenanceFacts Domain(VerifiedProvenance v) =>
        new(v.Builder, v.SourceRepository, v.Ref, v.Commit, v.KeyId, v.BuildType, v.VerifiedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attestation for release {ReleaseId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string releaseId, string reason);
}
