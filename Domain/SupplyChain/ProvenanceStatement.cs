using System.Text.Json;

namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>One subject of a statement: an artifact name and its sha256 (lower-case hex, no prefix).</summary>
public sealed record StatementSubject(string Name, string Sha256);

/// <summary>One resolved dependency of a build: its URI and its sha256 or gitCommit digest (the source commit, typically).</summary>
public sealed record ResolvedDependency(string Uri, string? Sha256, string? GitCommit);

/// <summary>What an in-toto Statement v1 with a SLSA Provenance v1 predicate says about a build.</summary>
public sealed record ProvenanceStatement
{
    public required IReadOnlyList<StatementSubject> Subjects { get; init; }

    public required string BuildType { get; init; }

    public required string BuilderId { get; init; }

    /// <summary>The source repository named in externalParameters (workflow.repository or source.repository), or null.</summary>
    public string? SourceRepository { get; init; }

    public string? SourceRef { get; init; }

    /// <summary>The workflow file of a GitHub Actions build (externalParameters.workflow.path).</summary>
    public string? WorkflowPath { get; init; }

    public IReadOnlyList<ResolvedDependency> ResolvedDependencies { get; init; } = [];

    /// <summary>The source commit: the gitCommit (or sha1) digest of the resolved dependency that is the source repository.</summary>
    public string? Commit { get; init; }
}

/// <summary>Parses the subset of in-toto Statement v1 + SLSA Provenance v1 the verifier needs.</summary>
public static class ProvenanceStatementParser
{
    public const string StatementType = "https://in-toto.io/Statement/v1";

    public const string SlsaProvenanceV1 = "https://slsa.dev/provenance/v1";

    private const int MaxSubjects = 1024;

    /// <summary>Parses the statement; on failure the error names the JSON path and what is wrong.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out ProvenanceStatement? statement, out string error)
    {
        statement = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 32 });
            using var doc = JsonDocument.ParseValue(ref reader);
            return TryParse(doc.RootElement, out statement, out error);
        }
        catch (JsonException)
        {
            error = "the payload is not a JSON document";
            return false;
        }
    }

    private static bool TryParse(JsonElement root, out ProvenanceStatement? statement, out string error)
    {
        statement = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "the statement is not a JSON object";
            return false;
        }

        if (Str(root, "_type") != StatementType)
        {
            error = $"_type is '{Str(root, "_type")}', expected '{StatementType}'";
            return false;
        }

        if (Str(root, "predicateType") != SlsaProvenanceV1)
        {
            error = $"predicateType is '{Str(root, "predicateType")}', expected '{SlsaProvenanceV1}'";
            return false;
        }

        if (!root.TryGetProperty("subject", out var subjectArray) || subjectArray.ValueKind != JsonValueKind.Array
            || subjectArray.GetArrayLength() is 0 or > MaxSubjects)
        {
            error = $"subject must be an array of 1-{MaxSubjects} {{name, digest}}";
            return false;
        }

        var subjects = new List<StatementSubject>();
        foreach (var s in subjectArray.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Object)
            {
                error = "subject[] entries must be objects {name, digest}";
                return false;
            }

            var sha = s.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.Object ? Str(d, "sha256") : null;
            if (sha is not null)
            {
                subjects.Add(new StatementSubject(Str(s, "name") ?? string.Empty, sha.ToLowerInvariant()));
            }
        }

        if (!root.TryGetProperty("predicate", out var predicate) || predicate.ValueKind != JsonValueKind.Object)
        {
            error = "predicate is missing";
            return false;
        }

        if (!predicate.TryGetProperty("buildDefinition", out var build) || build.ValueKind != JsonValueKind.Object
            || Str(build, "buildType") is not { Length: > 0 } buildType)
        {
            error = "predicate.buildDefinition.buildType is missing";
            return false;
        }

        if (!predicate.TryGetProperty("runDetails", out var run) || run.ValueKind != JsonValueKind.Object
            || !run.TryGetProperty("builder", out var builder) || builder.ValueKind != JsonValueKind.Object
            || Str(builder, "id") is not { Length: > 0 } builderId)
        {
            error = "predicate.runDetails.builder.id is missing";
            return false;
        }

        string? repository = null, gitRef = null, workflowPath = null;
        if (build.TryGetProperty("externalParameters", out var external) && external.ValueKind == JsonValueKind.Object)
        {
            // GitHub Actions (slsa-github-generator, actions/attest): externalParameters.workflow.{repository, ref, path}.
            if (external.TryGetProperty("workflow", out var workflow) && workflow.ValueKind == JsonValueKind.Object)
            {
                repository = Str(workflow, "repository");
                gitRef = Str(workflow, "ref");
                workflowPath = Str(workflow, "path");
            }

            // A generic shape: externalParameters.source.{repository, ref} (or source.uri).
            if (repository is null && external.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.Object)
            {
                repository = Str(source, "repository") ?? Str(source, "uri");
                gitRef = Str(source, "ref");
            }

            repository ??= Str(external, "repository");
            gitRef ??= Str(external, "ref");
        }

        var dependencies = new List<ResolvedDependency>();
        if (build.TryGetProperty("resolvedDependencies", out var deps) && deps.ValueKind == JsonValueKind.Array)
        {
            foreach (var dep in deps.EnumerateArray().Take(MaxSubjects))
            {
                if (dep.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var digest = dep.TryGetProperty("digest", out var dd) && dd.ValueKind == JsonValueKind.Object ? dd : default;
                dependencies.Add(new ResolvedDependency(
                    Str(dep, "uri") ?? string.Empty,
                    digest.ValueKind == JsonValueKind.Object ? Str(digest, "sha256") : null,
                    digest.ValueKind == JsonValueKind.Object ? Str(digest, "gitCommit") ?? Str(digest, "sha1") : null));
            }
        }

        statement = new ProvenanceStatement
        {
            Subjects = subjects,
            BuildType = buildType,
            BuilderId = builderId,
            SourceRepository = repository,
            SourceRef = gitRef,
            WorkflowPath = workflowPath,
            ResolvedDependencies = dependencies,
            Commit = SourceCommit(dependencies, repository),
        };
        error = string.Empty;
        return true;
    }

    /// <summary>The commit of the dependency whose URI names the source repository; else the only one with a commit.</summary>
    private static string? SourceCommit(List<ResolvedDependency> dependencies, string? repository)
    {
        var withCommit = dependencies.Where(d => d.GitCommit is not null).ToList();
        if (repository is not null)
        {
            var repo = SourceNames.Normalize(repository);
            var match = withCommit.FirstOrDefault(d => SourceNames.Normalize(d.Uri).Contains(repo, StringComparison.Ordinal));
            if (match is not null)
            {
                return match.GitCommit;
            }
        }

        return withCommit.Count == 1 ? withCommit[0].GitCommit : null;
    }

    private static string? Str(JsonElement e, string name) => BoundedJson.Str(e, name);
}

/// <summary>Comparison of source repository names and refs as build systems write them.</summary>
public static class SourceNames
{
    /// <summary>
    /// "https://github.com/Acme/Shop.git", "git+https://github.com/acme/shop@refs/heads/main" and "github.com/acme/shop"
    /// all normalise to "github.com/acme/shop": scheme, "git+", "@ref", ".git" and case are dropped.
    /// </summary>
    public static string Normalize(string repository)
    {
        var s = repository.Trim().ToLowerInvariant();
        if (s.StartsWith("git+", StringComparison.Ordinal)) s = s[4..];
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) s = s[(scheme + 3)..];
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        var at = slash >= 0 ? s.IndexOf('@', slash) : -1;
        if (at >= 0) s = s[..at];
        s = s.TrimEnd('/');
        if (s.EndsWith(".git", StringComparison.Ordinal)) s = s[..^4];
        return s;
    }

    /// <summary>"main" and "refs/heads/main" are the same ref; tags must be written "refs/tags/v1" on both sides or as "v1".</summary>
    public static bool SameRef(string declared, string actual)
    {
        static string Short(string r) => r.StartsWith("refs/heads/", StringComparison.Ordinal) ? r["refs/heads/".Length..]
            : r.StartsWith("refs/tags/", StringComparison.Ordinal) ? r["refs/tags/".Length..] : r;
        return string.Equals(declared, actual, StringComparison.Ordinal) || string.Equals(Short(declared), Short(actual), StringComparison.Ordinal);
    }
}
