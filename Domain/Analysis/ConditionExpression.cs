using System.Globalization;

namespace Deploy.Engine.Domain.Analysis;

/// <summary>Where a condition failed to parse: a 0-based character offset into the text and what was expected.</summary>
public sealed record ConditionError(int Position, string Message)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"position {Position}: {Message}");
}

/// <summary>
/// A success or failure condition over one measured value, in a small, safe subset of the expr language Argo Rollouts
/// evaluates (<c>utils/evaluate/evaluate.go</c>, <c>EvalCondition</c> compiled with <c>expr.AsBool()</c>). Parsed once
/// into a tree, type-checked, then evaluated many times; no reflection, no dynamic code, no I/O.
/// <para>Grammar (lowest precedence first, as expr's operator table ranks them):</para>
/// <list type="bullet">
/// <item><c>||</c> / <c>or</c> (10), then <c>&amp;&amp;</c> / <c>and</c> (15), both left-associative and short-circuiting;</item>
/// <item><c>== != &lt; &lt;= &gt; &gt;=</c> (20), left-associative, so <c>result &gt; 1 == true</c> is <c>(result &gt; 1) == true</c>;</item>
/// <item><c>+ -</c> (30), then <c>* /</c> (60);</item>
/// <item>prefix <c>!</c> / <c>not</c> (50) and prefix <c>-</c> / <c>+</c> (90): <c>not</c> binds tighter than a comparison,
/// so write <c>not (result &gt; 5)</c>, as in expr;</item>
/// <item>atoms: numbers (<c>0.95</c>, <c>1e-3</c>), <c>true</c>, <c>false</c>, <c>result</c>, <c>result[i]</c>,
/// parentheses, and the functions <c>isNaN(x)</c>, <c>isInf(x)</c> (either sign), <c>isNil(result)</c>,
/// <c>len(result)</c> and <c>default(x, fallback)</c> (fallback when x has no value).</item>
/// </list>
/// <para><c>result</c> is what the measurement holds (<see cref="ResultValue"/>): a number, or a vector as Argo's
/// Prometheus provider hands a vector or matrix answer to the conditions (<c>metricproviders/prometheus/prometheus.go</c>
/// <c>processResponse</c>: <c>[]float64</c>), read as <c>result[0]</c>. Which one it is is known only when a measurement
/// arrives, so a mismatch is a runtime error, as in expr: <c>result[0]</c> over a number, <c>result &lt; 5</c> over a
/// vector, an index out of range (negative indices count from the end, as expr's do), and every use of an empty vector
/// (Argo's <c>formatEvalError</c>: "metric result is nil or empty").</para>
/// <para>Numbers follow IEEE 754 as Go's float64 does: <c>x / 0</c> is ±Inf (NaN for <c>0 / 0</c>), every ordered
/// comparison with NaN is false, <c>NaN == NaN</c> is false and <c>NaN != NaN</c> is true. So a success condition
/// <c>result &lt; 0.05</c> over NaN is false (the measurement fails unless a failure condition is also given) and
/// <c>isNaN(result)</c> is how to name the case.</para>
/// <para>Runtime errors (which Argo turns into an Error measurement, <c>utils/evaluate/evaluate.go:24-33</c>): the
/// mismatches above, and <c>result</c> used in arithmetic or a comparison while it has no value and no <c>default</c>
/// covers it.</para>
/// </summary>
public sealed class ConditionExpression
{
    /// <summary>Longest condition accepted; with <see cref="MaxDepth"/> it bounds the recursion of parse and evaluation.</summary>
    public const int MaxLength = 4096;

    /// <summary>Deepest nesting of parentheses and prefix operators accepted.</summary>
    public const int MaxDepth = 64;

    private readonly Node _root;

    private ConditionExpression(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    /// <summary>The source text, as given.</summary>
    public string Text { get; }

    /// <summary>Parses and type-checks <paramref name="text"/>; the whole expression must be boolean.</summary>
    public static bool TryParse(string? text, out ConditionExpression? expression, out ConditionError? error)
    {
        expression = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = new ConditionError(0, "the condition is empty");
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = new ConditionError(MaxLength, $"the condition is longer than {MaxLength} characters");
            return false;
        }

        try
        {
            var parser = new Parser(text);
            var root = parser.ParseAll();
            var type = TypeOf(root);
            if (type != ValueType.Bool)
            {
                error = new ConditionError(0, "the condition must be boolean, but it is a number");
                return false;
            }

            expression = new ConditionExpression(text, root);
            error = null;
            return true;
        }
        catch (SyntaxException e)
        {
            error = new ConditionError(e.Position, e.Message);
            return false;
        }
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/> naming the position.</summary>
    public static ConditionExpression Parse(string text) =>
        TryParse(text, out var expression, out var error)
            ? expression!
            : throw new FormatException($"invalid condition '{text}' at {error}");

    /// <summary>
    /// Evaluates the condition with <c>result</c> bound to <paramref name="result"/> (null: no value).
    /// False with <paramref name="error"/> set when evaluation cannot finish; the caller decides what that means.
    /// </summary>
    public bool TryEvaluate(double? result, out bool value, out string? error) =>
        TryEvaluate(ResultValue.Of(result), out value, out error);

    /// <summary>
    /// Evaluates the condition with <c>result</c> bound to <paramref name="result"/> (a number, a vector, or nothing).
    /// False with <paramref name="error"/> set when evaluation cannot finish (an Error measurement in Argo).
    /// </summary>
    public bool TryEvaluate(ResultValue result, out bool value, out string? error)
    {
        try
        {
            value = Eval(_root, result).AsBool(_root.Position);
            error = null;
            return true;
        }
        catch (SyntaxException e)
        {
            value = false;
            error = string.Create(CultureInfo.InvariantCulture, $"evaluating '{Text}' at position {e.Position}: {e.Message}");
            return false;
        }
    }

    public override string ToString() => Text;

    // ---- tree ------------------------------------------------------------------------------------------------

    private enum ValueType { Number, Bool }

    private abstract record Node(int Position);

    private sealed record NumberNode(int Position, double Value) : Node(Position);

    private sealed record BoolNode(int Position, bool Value) : Node(Position);

    private sealed record ResultNode(int Position) : Node(Position);

    private sealed record UnaryNode(int Position, string Op, Node Operand) : Node(Position);

    private sealed record BinaryNode(int Position, string Op, Node Left, Node Right) : Node(Position);

    private sealed record CallNode(int Position, string Name, IReadOnlyList<Node> Args) : Node(Position);

    /// <summary><c>result[index]</c>: only <c>result</c> can be indexed.</summary>
    private sealed record IndexNode(int Position, Node Index) : Node(Position);

    /// <summary>A number (possibly absent: <c>result</c> without a value) or a boolean.</summary>
    private readonly record struct Value(ValueType Type, double? Number, bool Bool)
    {
        public static Value Of(double? number) => new(ValueType.Number, number, false);

        public static Value Of(bool b) => new(ValueType.Bool, null, b);

        public double AsNumber(int position) =>
            Number ?? throw new SyntaxException(position, "result has no value (use default(result, x))");

        public bool AsBool(int position) =>
            Type == ValueType.Bool ? Bool : throw new SyntaxException(position, "expected a boolean");
    }

    private sealed class SyntaxException(int position, string message) : Exception(message)
    {
        public int Position { get; } = position;
    }

    // ---- static types: every node is a number or a boolean, known before any value is seen -------------------

    private static ValueType TypeOf(Node node)
    {
        switch (node)
        {
            case NumberNode or ResultNode:
                return ValueType.Number;
            case BoolNode:
                return ValueType.Bool;
            case UnaryNode u:
            {
                var operand = TypeOf(u.Operand);
                var wanted = u.Op == "!" ? ValueType.Bool : ValueType.Number;
                if (operand != wanted) throw new SyntaxException(u.Position, $"'{u.Op}' needs a {Name(wanted)}, not a {Name(operand)}");
                return wanted;
            }

            case BinaryNode b:
            {
                var left = TypeOf(b.Left);
                var right = TypeOf(b.Right);
                switch (b.Op)
                {
                    case "&&" or "||":
                        Expect(b, left, right, ValueType.Bool);
                        return ValueType.Bool;
                    case "==" or "!=":
                        if (left != right) throw new SyntaxException(b.Position, $"'{b.Op}' compares a {Name(left)} with a {Name(right)}");
                        return ValueType.Bool;
                    case "<" or "<=" or ">" or ">=":
                        Expect(b, left, right, ValueType.Number);
                        return ValueType.Bool;
                    default:
                        Expect(b, left, right, ValueType.Number);
                        return ValueType.Number;
                }
            }

            case IndexNode i:
                if (TypeOf(i.Index) != ValueType.Number) throw new SyntaxException(i.Index.Position, "an index must be a number");
                return ValueType.Number;
            case CallNode { Name: "len" or "isNil" } c:
                if (c.Args[0] is not ResultNode) throw new SyntaxException(c.Args[0].Position, $"{c.Name}() takes result");
                return c.Name == "len" ? ValueType.Number : ValueType.Bool;
            case CallNode c:
                foreach (var arg in c.Args)
                {
                    if (TypeOf(arg) != ValueType.Number) throw new SyntaxException(arg.Position, $"{c.Name}() takes numbers");
                }

                return c.Name == "default" ? ValueType.Number : ValueType.Bool;
            default:
                throw new SyntaxException(node.Position, "unknown node");
        }
    }

    private static void Expect(BinaryNode b, ValueType left, ValueType right, ValueType wanted)
    {
        if (left != wanted || right != wanted)
        {
            throw new SyntaxException(b.Position, $"'{b.Op}' needs {Name(wanted)}s, not a {Name(left)} and a {Name(right)}");
        }
    }

    private static string Name(ValueType type) => type == ValueType.Bool ? "boolean" : "number";

    // ---- evaluation ------------------------------------------------------------------------------------------

    private static Value Eval(Node node, ResultValue result)
    {
        switch (node)
        {
            case NumberNode n:
                return Value.Of(n.Value);
            case BoolNode b:
                return Value.Of(b.Value);
            case ResultNode r:
                if (result.Vector is { } vector)
                {
                    throw new SyntaxException(r.Position, vector.Count == 0
                        ? EmptyResult
                        : $"result is a vector of {vector.Count} value{(vector.Count == 1 ? "" : "s")} here; read one with result[0]");
                }

                return Value.Of(result.Scalar);
            case IndexNode i:
            {
                if (result.Vector is not { } items)
                {
                    throw new SyntaxException(i.Position, result.Scalar is null ? EmptyResult : "result is a single number here; it cannot be indexed");
                }

                var at = Eval(i.Index, result).AsNumber(i.Index.Position);
                if (items.Count == 0) throw new SyntaxException(i.Position, EmptyResult);
                if (double.IsNaN(at) || at != Math.Floor(at)) throw new SyntaxException(i.Index.Position, "an index must be a whole number");
                var index = at < 0 ? items.Count + at : at;
                if (index < 0 || index >= items.Count)
                {
                    throw new SyntaxException(i.Position, string.Create(CultureInfo.InvariantCulture, $"index out of range: {at} (array length is {items.Count})"));
                }

                return Value.Of(items[(int)index]);
            }

            case CallNode { Name: "len" } l:
                if (result.Vector is not { } listed)
                {
                    throw new SyntaxException(l.Position, result.Scalar is null ? EmptyResult : "len() needs a vector; result is a single number here");
                }

                return Value.Of((double)listed.Count);
            case CallNode { Name: "isNil" }:
                return Value.Of(result.IsNil);
            case UnaryNode u:
                var operand = Eval(u.Operand, result);
                return u.Op switch
                {
                    "!" => Value.Of(!operand.AsBool(u.Position)),
                    "-" => Value.Of(-operand.AsNumber(u.Position)),
                    _ => Value.Of(operand.AsNumber(u.Position)),
                };
            case BinaryNode b when b.Op is "&&" or "||":
            {
                var left = Eval(b.Left, result).AsBool(b.Position);
                if (b.Op == "&&" && !left) return Value.Of(false);
                if (b.Op == "||" && left) return Value.Of(true);
                return Value.Of(Eval(b.Right, result).AsBool(b.Position));
            }

            case BinaryNode b:
            {
                var left = Eval(b.Left, result);
                var right = Eval(b.Right, result);
                if (left.Type == ValueType.Bool)
                {
                    return Value.Of(b.Op == "==" ? left.Bool == right.Bool : left.Bool != right.Bool);
                }

                var x = left.AsNumber(b.Left.Position);
                var y = right.AsNumber(b.Right.Position);
                return b.Op switch
                {
                    // C# double operators are IEEE 754, as Go's: ordered comparisons with NaN are false, != is true.
                    "==" => Value.Of(x == y),
                    "!=" => Value.Of(x != y),
                    "<" => Value.Of(x < y),
                    "<=" => Value.Of(x <= y),
                    ">" => Value.Of(x > y),
                    ">=" => Value.Of(x >= y),
                    "+" => Value.Of(x + y),
                    "-" => Value.Of(x - y),
                    "*" => Value.Of(x * y),
                    _ => Value.Of(x / y),
                };
            }

            case CallNode c:
            {
                var first = Eval(c.Args[0], result);
                return c.Name switch
                {
                    "default" => first.Number is null ? Value.Of(Eval(c.Args[1], result).AsNumber(c.Args[1].Position)) : first,
                    "isNaN" => Value.Of(double.IsNaN(first.AsNumber(c.Args[0].Position))),
                    _ => Value.Of(double.IsInfinity(first.AsNumber(c.Args[0].Position))),
                };
            }

            default:
                throw new SyntaxException(node.Position, "unknown node");
        }
    }

    private const string EmptyResult = "metric result is nil or empty: no data returned from the metric provider";

    // ---- parsing: a Pratt parser over expr's precedence table ------------------------------------------------

    private sealed class Parser(string text)
    {
        private static readonly Dictionary<string, int> Arity = new(StringComparer.Ordinal)
        {
            ["isNaN"] = 1,
            ["isInf"] = 1,
            ["default"] = 2,
            ["len"] = 1,
            ["isNil"] = 1,
        };

        private readonly List<Token> _tokens = Lex(text);
        private int _next;
        private int _depth;

        public Node ParseAll()
        {
            var node = ParseExpression(0);
            var rest = Peek();
            if (rest.Kind != TokenKind.End)
            {
                throw new SyntaxException(rest.Position, $"unexpected '{rest.Text}' after a complete expression");
            }

            return node;
        }

        private Node ParseExpression(int minPrecedence)
        {
            if (++_depth > MaxDepth) throw new SyntaxException(Peek().Position, $"nested deeper than {MaxDepth} levels");
            var left = ParsePrefix();
            while (true)
            {
                var op = Peek();
                if (op.Kind != TokenKind.Operator || BinaryPrecedence(op.Text) is not { } precedence || precedence <= minPrecedence)
                {
                    _depth--;
                    return left;
                }

                _next++;
                var right = ParseExpression(precedence);
                left = new BinaryNode(op.Position, Canonical(op.Text), left, right);
            }
        }

        private Node ParsePrefix()
        {
            var token = Next();
            switch (token.Kind)
            {
                case TokenKind.Number:
                    return new NumberNode(token.Position, double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture));
                case TokenKind.Operator when token.Text is "!" or "not":
                    return new UnaryNode(token.Position, "!", ParseExpression(50));
                case TokenKind.Operator when token.Text is "-" or "+":
                    return new UnaryNode(token.Position, token.Text, ParseExpression(90));
                case TokenKind.Operator when token.Text == "(":
                {
                    var inner = ParseExpression(0);
                    var close = Next();
                    if (close.Text != ")") throw new SyntaxException(close.Position, $"expected ')' to close the '(' at {token.Position}");
                    return inner;
                }

                case TokenKind.Identifier:
                    return ParseIdentifier(token);
                case TokenKind.End:
                    throw new SyntaxException(token.Position, "unexpected end of the condition");
                default:
                    throw new SyntaxException(token.Position, $"unexpected '{token.Text}'");
            }
        }

        private Node ParseIdentifier(Token token)
        {
            switch (token.Text)
            {
                case "true":
                    return new BoolNode(token.Position, true);
                case "false":
                    return new BoolNode(token.Position, false);
                case "result":
                    var after = Peek();
                    if (after.Text == ".")
                    {
                        throw new SyntaxException(after.Position, "result is a number or a vector of numbers here; fields are not supported");
                    }

                    if (after.Text != "[") return new ResultNode(token.Position);
                    _next++;
                    var index = ParseExpression(0);
                    var bracket = Next();
                    if (bracket.Text != "]") throw new SyntaxException(bracket.Position, $"expected ']' to close the '[' at {after.Position}");
                    if (Peek().Text is "[" or ".") throw new SyntaxException(Peek().Position, "result[i] is a number; it has no elements or fields");
                    return new IndexNode(after.Position, index);
            }

            if (!Arity.TryGetValue(token.Text, out var arity))
            {
                throw new SyntaxException(token.Position, $"unknown name '{token.Text}' (known: result, true, false, isNaN, isInf, isNil, len, default)");
            }

            var open = Next();
            if (open.Text != "(") throw new SyntaxException(open.Position, $"expected '(' after {token.Text}");
            var args = new List<Node>();
            if (Peek().Text != ")")
            {
                args.Add(ParseExpression(0));
                while (Peek().Text == ",")
                {
                    _next++;
                    args.Add(ParseExpression(0));
                }
            }

            var close = Next();
            if (close.Text != ")") throw new SyntaxException(close.Position, $"expected ')' or ',' in the call to {token.Text}");
            if (args.Count != arity)
            {
                throw new SyntaxException(token.Position, $"{token.Text}() takes {arity} argument{(arity == 1 ? "" : "s")}, not {args.Count}");
            }

            return new CallNode(token.Position, token.Text, args);
        }

        private static int? BinaryPrecedence(string op) => op switch
        {
            "||" or "or" => 10,
            "&&" or "and" => 15,
            "==" or "!=" or "<" or "<=" or ">" or ">=" => 20,
            "+" or "-" => 30,
            "*" or "/" => 60,
            _ => null,
        };

        private static string Canonical(string op) => op switch
        {
            "or" => "||",
            "and" => "&&",
            _ => op,
        };

        private Token Peek() => _tokens[_next];

        private Token Next()
        {
            var token = _tokens[_next];
            if (token.Kind != TokenKind.End) _next++;
            return token;
        }

        private static List<Token> Lex(string text)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }

                var start = i;
                if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
                {
                    while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
                    if (i < text.Length && text[i] is 'e' or 'E')
                    {
                        var exponent = i + 1;
                        if (exponent < text.Length && text[exponent] is '+' or '-') exponent++;
                        if (exponent < text.Length && char.IsAsciiDigit(text[exponent]))
                        {
                            i = exponent;
                            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                        }
                    }

                    var number = text[start..i];
                    if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    {
                        throw new SyntaxException(start, $"'{number}' is not a number");
                    }

                    tokens.Add(new Token(TokenKind.Number, number, start));
                    continue;
                }

                if (char.IsAsciiLetter(c) || c == '_')
                {
                    while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
                    var word = text[start..i];
                    var kind = word is "and" or "or" or "not" ? TokenKind.Operator : TokenKind.Identifier;
                    tokens.Add(new Token(kind, word, start));
                    continue;
                }

                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                if (two is "&&" or "||" or "==" or "!=" or "<=" or ">=")
                {
                    tokens.Add(new Token(TokenKind.Operator, two, start));
                    i += 2;
                    continue;
                }

                if ("+-*/<>!(),[].".Contains(c, StringComparison.Ordinal))
                {
                    tokens.Add(new Token(TokenKind.Operator, c.ToString(), start));
                    i++;
                    continue;
                }

                throw new SyntaxException(start, c is '&' or '|' or '='
                    ? $"'{c}' alone is not an operator (did you mean '{c}{c}'?)"
                    : $"unexpected character '{c}'");
            }

            tokens.Add(new Token(TokenKind.End, "end", text.Length));
            return tokens;
        }
    }

    private enum TokenKind { Number, Identifier, Operator, End }

    private readonly record struct Token(TokenKind Kind, string Text, int Position);
}

/// <summary>
/// What <c>result</c> is bound to when a condition runs: a number (NaN and ±Inf included), a vector of numbers (a
/// Prometheus vector or matrix answer, as Argo hands it to expr), or nothing (<see cref="IsNil"/>).
/// </summary>
public readonly record struct ResultValue(double? Scalar, IReadOnlyList<double>? Vector)
{
    public static ResultValue Of(double? scalar) => new(scalar, null);

    public static ResultValue Of(IReadOnlyList<double> vector) => new(null, vector);

    /// <summary>True when there is neither a number nor a vector (Argo's <c>isNil</c>; an empty vector is not nil).</summary>
    public bool IsNil => Scalar is null && Vector is null;
}
