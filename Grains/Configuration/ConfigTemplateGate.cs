using Deploy.Engine.Domain.Configuration;
using Deploy.Engine.Grains.Gates;
using Deploy.Engine.Grains.Interfaces;

namespace Deploy.Engine.Grains.Configuration;

/// <summary>
/// A release whose configuration templates name a parameter the target environment does not define cannot be
/// rendered there: refused at submit (422, nothing stored) and, should the parameter be removed later, at admission.
/// </summary>
public sealed class ConfigTemplateGate(IGrainFactory grains) : IRolloutGate
{
    private static readonly HashSet<GatePoint> AskedAt = [GatePoint.Submit, GatePoint.Admission];

    public string Name => "configuration";

    public IReadOnlySet<GatePoint> Points => AskedAt;

    public async Task<GateDecision> Check(GateContext context, CancellationToken cancellationToken = default)
    {
        if (await grains.Ref<IReleaseConfigGrain>(context.Release.Id).Get() is not { } config)
        {
            return GateDecision.Pass(Name);
        }

        var parameters = await grains.Ref<IEnvironmentParametersGrain>(context.Environment).Get();
        var missing = MissingParameter(config, parameters, context.Environment);
        return missing is null ? GateDecision.Pass(Name) : new GateDecision(GateVerdict.Refuse, Name, missing);
    }

    /// <summary>The first template (by file name) that cannot be rendered in the environment, as a reason; null when all can.</summary>
    public static string? MissingParameter(ReleaseConfig config, ParameterSet? parameters, string environment)
    {
        foreach (var (file, template) in config.Templates.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var (names, error) = ConfigTemplate.Parse(template);
            if (error is not null)
            {
                return $"template {file} is not valid: {error}";
            }

            foreach (var name in names)
            {
                if (parameters is null || (!parameters.Values.ContainsKey(name) && !parameters.ProtectedSecrets.ContainsKey(name)))
                {
                    return $"template {file} names parameter '{name}', which environment '{environment}' does not define: add it with PUT /v1/environments/{environment}/parameters";
                }
            }
        }

        return null;
    }
}
