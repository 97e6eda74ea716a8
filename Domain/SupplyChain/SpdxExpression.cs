namespace Deploy.Engine.Domain.SupplyChain;

/// <summary>A parsed SPDX licence expression (SPDX 2.3 annex D): ids, "+", WITH, AND, OR, parentheses.</summary>
public abstract record SpdxExpression
{
    public sealed record License(string Id, bool OrLater, string? Exception) : SpdxExpression
    {
        public override string ToString() => Id + (OrLater ? "+" : string.Empty) + (Exception is null ? string.Empty : " WITH " + Exception);
    }

    public sealed record And(SpdxExpression Left, SpdxExpression Right) : SpdxExpression
    {
        public override string ToString() => $"({Left} AND {Right})";
    }

    public sealed record Or(SpdxExpression Left, SpdxExpression Right) : SpdxExpression
    {
        public override string ToString() => $"({Left} OR {Right})";
    }

    public const int MaxLength = 2048;

    /// <summary>
    /// Parses with the SPDX precedence: WITH binds tightest, then AND, then OR ("A OR B AND C" is "A OR (B AND C)").
    /// Operators are upper or lower case; ids are letters, digits, '.', '-', optionally ending in '+'.
    /// </summary>
    public static bool TryParse(string? text, out SpdxExpression? expression, out string error)
    {
        expression = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength)
        {
            error = $"must be 1-{MaxLength} characters";
            return false;
        }

        var tokens = Tokenize(text);
        if (tokens is null)
        {
            error = "contains a character that is not allowed in an SPDX expression";
            return false;
        }

        var parser = new Parser(tokens);
        expression = parser.ParseOr(0);
        if (expression is null || parser.Position != tokens.Count)
        {
            expression = null;
            error = parser.Error ?? $"unexpected '{tokens[Math.Min(parser.Position, tokens.Count - 1)]}'";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Whether the expression is allowed by <paramref name="allowed"/> (SPDX ids, case-insensitive): OR is allowed when
    /// either side is, AND when both are. "X+" is allowed when "X+" or "X" is listed (a licensee may choose X).
    /// "X WITH E" is allowed when "X WITH E" or X is listed (an exception only grants more). LicenseRef-* ids are allowed
    /// only when listed. <paramref name="blocking"/> lists the ids that made it disallowed.
    /// </summary>
    public bool IsAllowed(IReadOnlySet<string> allowed, List<string> blocking)
    {
        switch (this)
        {
            case License l:
                var ok = allowed.Contains(l.ToString()) || allowed.Contains(l.Id) || (l.OrLater && allowed.Contains(l.Id + "+"));
                if (!ok)
                {
                    blocking.Add(l.ToString());
                }

                return ok;
            case And a:
                var left = a.Left.IsAllowed(allowed, blocking);
                var right = a.Right.IsAllowed(allowed, blocking);
                return left && right;
            case Or o:
                var tried = new List<string>();
                if (o.Left.IsAllowed(allowed, tried) || o.Right.IsAllowed(allowed, tried))
                {
                    return true;
                }

                blocking.AddRange(tried);
                return false;
            default:
                return false;
        }
    }

    private static List<string>? Tokenize(string text)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is ' ' or '\t')
            {
                i++;
            }
            else if (c is '(' or ')' or '+')
            {
                tokens.Add(c.ToString());
                i++;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '.' or '-' or ':'))
                {
                    i++;
                }

                tokens.Add(text[start..i]);
            }
            else
            {
                return null;
            }
        }

        return tokens;
    }

    private sealed class Parser(List<string> tokens)
    {
        private const int MaxDepth = 32;

        public int Position { get; private set; }

        public string? Error { get; private set; }

        private string? Peek => Position < tokens.Count ? tokens[Position] : null;

        private static bool Is(string? token, string op) => token is not null && (token == op || (token.Length == op.Length && token.All(char.IsAsciiLetterLower) && string.Equals(token, op, StringComparison.OrdinalIgnoreCase)));

        public SpdxExpression? ParseOr(int depth)
        {
            var left = ParseAnd(depth);
            while (left is not null && Is(Peek, "OR"))
            {
                Position++;
                var right = ParseAnd(depth);
                left = right is null ? null : new Or(left, right);
            }

            return left;
        }

        private SpdxExpression? ParseAnd(int depth)
        {
            var left = ParseWith(depth);
            while (left is not null && Is(Peek, "AND"))
            {
                Position++;
                var right = ParseWith(depth);
                left = right is null ? null : new And(left, right);
            }

            return left;
        }

        private SpdxExpression? ParseWith(int depth)
        {
            var token = Peek;
            if (token is null)
            {
                Error ??= "ends where a licence id or '(' was expected";
                return null;
            }

            if (token == "(")
            {
                if (depth >= MaxDepth)
                {
                    Error ??= $"nests parentheses deeper than {MaxDepth}";
                    return null;
                }

                Position++;
                var inner = ParseOr(depth + 1);
                if (inner is null)
                {
                    return null;
                }

                if (Peek != ")")
                {
                    Error ??= "has an unclosed '('";
                    return null;
                }

                Position++;
                return inner;
            }

            if (token is ")" or "+" || Is(token, "AND") || Is(token, "OR") || Is(token, "WITH"))
            {
                Error ??= $"has '{token}' where a licence id was expected";
                return null;
            }

            Position++;
            var orLater = false;
            if (Peek == "+")
            {
                orLater = true;
                Position++;
            }

            string? exception = null;
            if (Is(Peek, "WITH"))
            {
                Position++;
                var e = Peek;
                if (e is null || e is "(" or ")" or "+" || Is(e, "AND") || Is(e, "OR") || Is(e, "WITH"))
                {
                    Error ??= "has WITH without an exception id";
                    return null;
                }

                exception = e;
                Position++;
            }

            return new License(token, orLater, exception);
        }
    }
}
