using Deploy.Engine.Grains.Interfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deploy.Engine.Api.Infrastructure;

/// <summary>ProblemDetails (RFC 9457) with stable type URNs; one place maps engine refusals to status codes.</summary>
public static class Problems
{
    public const string ValidationType = "urn:deploy-engine:problem:validation";
    public const string NotFoundType = "urn:deploy-engine:problem:not-found";
    public const string InvalidTransitionType = "urn:deploy-engine:problem:invalid-transition";
    public const string ConflictType = "urn:deploy-engine:problem:conflict";
    public const string PolicyType = "urn:deploy-engine:problem:refused-by-policy";
    public const string UnavailableType = "urn:deploy-engine:problem:storage-unavailable";
    public const string IdempotencyMismatchType = "urn:deploy-engine:problem:idempotency-key-reused";
    public const string UnauthorizedType = "urn:deploy-engine:problem:unauthorized";
    public const string ForbiddenType = "urn:deploy-engine:problem:forbidden";
    public const string InternalType = "urn:deploy-engine:problem:internal";
    public const string PayloadTooLargeType = "urn:deploy-engine:problem:payload-too-large";
    public const string PreconditionFailedType = "urn:deploy-engine:problem:precondition-failed";

    public static ValidationProblem Validation(IReadOnlyDictionary<string, string[]> errors, string detail = "The request is invalid.") =>
        TypedResults.ValidationProblem(errors, detail: detail, title: "Validation failed", type: ValidationType);

    public static ValidationProblem Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] }, $"{field}: {message}");

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: NotFoundType);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: ConflictType);

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", type: ForbiddenType);

    /// <summary>
    /// A scoped key reaching outside its environments or services (<see cref="KeyScopeFilter"/>): 403 with the scope
    /// named, the same for a resource outside the scope as for one that does not exist.
    /// </summary>
    public static ProblemHttpResult OutsideKeyScope(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: OutsideKeyScopeTitle, type: ForbiddenType);

    public const string OutsideKeyScopeTitle = "Outside the key's scope";

    /// <summary>A key without the pipeline role creating a rollout into a protected or production environment.</summary>
    public static ProblemHttpResult ProtectedNeedsPipeline(string environment) => Forbidden(
        $"environment '{environment}' is protected (production tier, declared protected, or named in Governance:ProtectedEnvironments): " +
        "rollouts into it are submitted only by the pipeline role");

    /// <summary>Four eyes: <paramref name="reason"/> says who authored the change and what they may not authorise.</summary>
    public static ProblemHttpResult SelfAuthorisation(string reason) =>
        TypedResults.Problem(reason, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Refused by policy", type: PolicyType);

    /// <summary>Maps a refused command; a validation refusal keeps its field errors (as ValidationProblem does).</summary>
    public static ProblemHttpResult From<T>(CommandResult<T> result)
        where T : class => result.Error switch
        {
            ErrorKind.Validation => TypedResults.Problem(result.Detail, statusCode: 400, title: "Validation failed", type: ValidationType,
                extensions: result.Errors is null ? null : new Dictionary<string, object?> { ["errors"] = result.Errors }),
            ErrorKind.NotFound => NotFound(result.Detail ?? "Not found."),
            ErrorKind.InvalidTransition => TypedResults.Problem(result.Detail, statusCode: 409, title: "Invalid transition", type: InvalidTransitionType),
            ErrorKind.PreconditionFailed => TypedResults.Problem(result.Detail, statusCode: 412, title: "Precondition failed", type: PreconditionFailedType),
            ErrorKind.PolicyRefused => TypedResults.Problem(result.Detail, statusCode: 422, title: "Refused by policy", type: PolicyType,
                extensions: result.Errors is null ? null : new Dictionary<string, object?> { ["errors"] = result.Errors }),
            _ => Conflict(result.Detail ?? "Conflict."),
        };
}
