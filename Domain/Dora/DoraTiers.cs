namespace Deploy.Engine.Domain.Dora;

/// <summary>
/// Performance tiers by the cut points of the 2023 Accelerate State of DevOps report (DORA), the last report that
/// published all four levels. Its table, and the cut points applied here (the report gives bands and typical values;
/// where two levels share a band, or a band is left open, the rule below closes it and docs/dora.md says so):
/// <list type="table">
/// <item>deployment frequency — elite: on demand (≥ 1 a day); high: between once a day and once a week (≥ 1/7 a day);
/// medium: between once a week and once a month (≥ 1/30 a day); low: less than once a month (the report gives low the
/// same band as medium).</item>
/// <item>change lead time (median) — elite: less than one day; high: one day to one week; medium: one week to one
/// month; low: a month or more.</item>
/// <item>change failure rate — elite: ≤ 5 %; high: ≤ 10 %; medium: ≤ 15 %; low: above (the report's low is 64 %).</item>
/// <item>failed deployment recovery time (median) — elite: less than one hour; high: less than one day; medium: one
/// day to one week; low: a week or more (the report's low is one to six months).</item>
/// </list>
/// Worked examples (the tests reuse them): 0.5 deployments a day → high; 1/30 a day → medium; median lead time 23 h →
/// elite, exactly 24 h → high; failure rate 0.05 → elite, 0.0501 → high; recovery 59 min → elite, 7 days → low.
/// </summary>
public static class DoraTiers
{
    public const string Report = "DORA 2023 Accelerate State of DevOps";

    public static PerformanceTier Frequency(double deploymentsPerDay) =>
        deploymentsPerDay >= 1 ? PerformanceTier.Elite
        : deploymentsPerDay >= 1.0 / 7 ? PerformanceTier.High
        : deploymentsPerDay >= 1.0 / 30 ? PerformanceTier.Medium
        : PerformanceTier.Low;

    public static PerformanceTier LeadTime(TimeSpan median) =>
        median < TimeSpan.FromDays(1) ? PerformanceTier.Elite
        : median < TimeSpan.FromDays(7) ? PerformanceTier.High
        : median < TimeSpan.FromDays(30) ? PerformanceTier.Medium
        : PerformanceTier.Low;

    public static PerformanceTier ChangeFailureRate(double rate) =>
        rate <= 0.05 ? PerformanceTier.Elite
        : rate <= 0.10 ? PerformanceTier.High
        : rate <= 0.15 ? PerformanceTier.Medium
        : PerformanceTier.Low;

    public static PerformanceTier RecoveryTime(TimeSpan median) =>
        median < TimeSpan.FromHours(1) ? PerformanceTier.Elite
        : median < TimeSpan.FromDays(1) ? PerformanceTier.High
        : median < TimeSpan.FromDays(7) ? PerformanceTier.Medium
        : PerformanceTier.Low;

    /// <summary>The overall tier: the weakest of the metrics that have one (null when none has data).</summary>
    public static PerformanceTier? Overall(params PerformanceTier?[] tiers)
    {
        var known = tiers.Where(t => t is not null).Select(t => t!.Value).ToList();
        return known.Count == 0 ? null : known.Max();
    }
}
