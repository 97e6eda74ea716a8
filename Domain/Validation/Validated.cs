namespace Deploy.Engine.Domain.Validation;

/// <summary>Field → messages, in the order found; the field names are the JSON paths a caller sent.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>How many fields have errors.</summary>
    public int Count => _errors.Count;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() =>
        _errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>A value, or the field errors that prevented it.</summary>
public sealed class Validated<T>
    where T : class
{
    private Validated(T? value, IReadOnlyDictionary<string, string[]> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyDictionary<string, string[]> Errors { get; }

    public bool IsValid => Value is not null;

    public static Validated<T> Valid(T value) => new(value, new Dictionary<string, string[]>());

    public static Validated<T> Invalid(ValidationErrors errors) => new(null, errors.ToDictionary());
}
