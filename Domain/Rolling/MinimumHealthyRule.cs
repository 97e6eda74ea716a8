namespace Deploy.Engine.Domain.Rolling;

/// <summary>
/// CodeDeploy's minimum healthy hosts as a decision rule, separate from the failure budget (<c>maxFailures</c>).
/// Source: AWS CodeDeploy User Guide, "Instance health" → "Minimum healthy instances and deployments"
/// (https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html#minimum-healthy-hosts), and
/// "Working with deployment configurations" (deployment-configurations.html, the predefined configurations):
/// <list type="bullet">
/// <item>"Deployment succeeds if the application revision was successfully deployed to at least the minimum number of
/// healthy instances." → success needs <see cref="Required"/> successes.</item>
/// <item>"If you specify a percentage, then at the start of the deployment, CodeDeploy converts the percentage into the
/// equivalent number of instances, rounding up any fractional instances." → FLEET_PERCENT rounds up, HOST_COUNT is
/// taken as is (<see cref="MinimumHealthyHosts.Resolve"/>).</item>
/// <item>CodeDeployDefault.AllAtOnce (minimum 0): "The overall deployment succeeds if the application revision is
/// deployed to at least one instance." → the at-least-one rule: never fewer than 1 success required.</item>
/// <item>"a deployment must never cause the number of healthy instances to fall below the minimum number of healthy
/// instances you have specified" (a failed instance is unhealthy) → a batch may start only while
/// <c>targets − failed − batch ≥ minimum</c> (<see cref="NextBatchRefused"/>).</item>
/// <item>CodeDeployDefault.OneAtATime: "if deployment to the last instance fails, the overall deployment still
/// succeeds" → follows from the two rules above with minimum = targets − 1.</item>
/// </list>
/// Where the engine deliberately differs: batches are planned up front (the preview shows them), so where CodeDeploy
/// would shrink the next batch to keep the minimum after a failure, the engine stops and rolls back instead (never
/// below the minimum either way); and with waves or a pilot group each stage is judged as one CodeDeploy deployment
/// (the minimum resolved over that stage's hosts), so a wave that fails entirely stops the rollout.
/// Worked examples (the tests reuse them): 10 hosts FLEET_PERCENT 75 → minimum ⌈7.5⌉ = 8, required 8: the third failure
/// makes 8 unreachable and rolls back at once. 4 hosts HOST_COUNT 0 (AllAtOnce) → required 1: three failures succeed,
/// four fail. 5 hosts OneAtATime (minimum 4): the first host fails → the next batch of 1 would leave 3 healthy &lt; 4 →
/// roll back; only the last host failing → 4 of 5 succeeded ≥ 4 → success.
/// </summary>
public static class MinimumHealthyRule
{
    /// <summary>Successes the deployment needs: the minimum, at least one (the at-least-one rule), at most the targets.</summary>
    public static int Required(int minimumHealthy, int targets) => targets <= 0 ? 0 : Math.Min(targets, Math.Max(1, minimumHealthy));

    /// <summary>Why the deployment can no longer succeed, or null while it still can: <c>targets − failed &lt; required</c>.</summary>
    public static string? Unreachable(int targets, int minimumHealthy, int failed)
    {
        var required = Required(minimumHealthy, targets);
        return targets - failed >= required
            ? null
            : $"minimum healthy hosts can no longer be reached: {required} of {targets} hosts must succeed and {failed} failed, so at most {targets - failed} can";
    }

    /// <summary>
    /// Why the next batch may not start, or null when it may: taking <paramref name="batch"/> more hosts out of service
    /// must leave at least the minimum healthy (failed hosts are not healthy). With no failure the planned batches
    /// (at most <c>targets − minimum</c>) always pass.
    /// </summary>
    public static string? NextBatchRefused(int targets, int minimumHealthy, int failed, int batch)
    {
        var healthyDuring = targets - failed - batch;
        return healthyDuring >= minimumHealthy
            ? null
            : $"the next batch of {batch} would leave {healthyDuring} healthy hosts ({failed} failed), below the minimum of {minimumHealthy}; CodeDeploy never takes the healthy count below the minimum";
    }
}
