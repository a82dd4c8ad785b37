using System.Globalization;
using System.Text;

namespace RnnCluster.Config;

/// <summary>
/// Recursive-descent reader for the HOCON subset RnnCluster uses (see <see cref="HoconReader"/>).
/// One instance reads one document; includes get their own instance. Substitutions are resolved
/// while reading because they name environment variables only, never other keys.
/// </summary>
internal sealed class HoconParser
{
    // Characters that may not appear in unquoted text (from the HOCON spec); '.' is allowed in
    // values but separates path segments in keys.
    private const string Forbidden = "$\"{}[]:=,+#`^?!@*&\\";

    private readonly string _text;
    private readonly string _source;
    private readonly string _baseDirectory;
    private readonly Func<string, string?> _environment;
    private readonly IReadOnlyList<string> _includeChain;
    private readonly ConfigOrigin? _fixedOrigin;
    private int _pos;
    private int _line = 1;

    public HoconParser(
        string text,
        string source,
        string baseDirectory,
        Func<string, string?> environment,
        IReadOnlyList<string> includeChain,
        ConfigOrigin? fixedOrigin = null)
    {
        _text = text;
        _source = source;
        _baseDirectory = baseDirectory;
        _environment = environment;
        _includeChain = includeChain;
        _fixedOrigin = fixedOrigin;
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => AtEnd ? '\0' : _text[_pos];

    private ConfigOrigin Here => _fixedOrigin ?? new ConfigOrigin(_source, _line);

    /// <summary>Reads a whole document: members at the root, optionally wrapped in braces.</summary>
    public HoconObject ParseDocument()
    {
        SkipBlank(newlines: true);
        HoconObject root;
        if (Peek == '{')
        {
            root = ParseObject();
        }
        else
        {
            root = new HoconObject(Here);
            ParseMembers(root, closer: null);
        }

        SkipBlank(newlines: true);
        if (!AtEnd)
        {
            throw Error($"unexpected '{Peek}' after the end of the document");
        }

        return root;
    }

    /// <summary>Reads one value filling the whole text; null when it is an unset <c>${?VAR}</c>.</summary>
    public HoconValue? ParseSingleValue()
    {
        SkipBlank(newlines: true);
        var value = ParseValue();
        SkipBlank(newlines: true);
        if (!AtEnd)
        {
            throw Error($"unexpected '{Peek}' after the value");
        }

        return value;
    }

    private void ParseMembers(HoconObject target, char? closer)
    {
        while (true)
        {
            SkipBlank(newlines: true);
            if (AtEnd || Peek == closer)
            {
                return; // the caller checks that the closer is really there
            }

            var description = ParseMember(target);
            SkipBlank(newlines: false);
            if (Peek == ',')
            {
                _pos++;
            }
            else if (!AtEnd && Peek != '\n' && Peek != closer)
            {
                throw Error($"expected ',' or a new line after {description}, found '{Peek}'");
            }
        }
    }

    /// <summary>Reads one "key = value", "key { }" or include; returns a description for errors.</summary>
    private string ParseMember(HoconObject target)
    {
        if (IsIncludeDirective())
        {
            ParseInclude(target);
            return "the include";
        }

        var key = ParseKey();
        var keyText = string.Join('.', key);
        SkipBlank(newlines: false, comments: false);
        HoconValue? value;
        if (Peek is '=' or ':')
        {
            _pos++;
            SkipBlank(newlines: false, comments: false);
            if (AtEnd || Peek is '\n' or '#' || StartsWith("//"))
            {
                throw Error($"expected a value for '{keyText}'");
            }

            value = ParseValue();
        }
        else if (Peek == '{')
        {
            value = ParseObject();
        }
        else
        {
            throw Error($"expected '=', ':' or '{{' after key '{keyText}', found {Describe()}");
        }

        // An unset optional substitution leaves the key as it was (or absent).
        if (value is not null)
        {
            target.Assign(key, value);
        }

        return $"the value of '{keyText}'";
    }

    private List<string> ParseKey()
    {
        var segments = new List<string>();
        while (true)
        {
            if (Peek == '"')
            {
                segments.Add(ReadQuoted());
            }
            else
            {
                var start = _pos;
                while (!AtEnd && Peek != '.' && IsUnquotedChar())
                {
                    _pos++;
                }

                if (_pos == start)
                {
                    throw Error($"expected a key, found {Describe()}");
                }

                segments.Add(_text[start.._pos]);
            }

            if (Peek != '.')
            {
                return segments;
            }

            _pos++;
        }
    }

    private HoconValue? ParseValue() => Peek switch
    {
        '{' => ParseObject(),
        '[' => ParseArray(),
        _ => ParseConcatenation(),
    };

    private HoconObject ParseObject()
    {
        var origin = Here;
        _pos++; // '{'
        var obj = new HoconObject(origin);
        ParseMembers(obj, '}');
        if (Peek != '}')
        {
            throw Error($"expected '}}' to close the object opened at {origin}, found {Describe()}");
        }

        _pos++;
        return obj;
    }

    private HoconArray ParseArray()
    {
        var origin = Here;
        _pos++; // '['
        var items = new List<HoconValue>();
        while (true)
        {
            SkipBlank(newlines: true);
            if (Peek == ']')
            {
                _pos++;
                return new HoconArray(items, origin);
            }

            if (AtEnd)
            {
                throw Error($"expected ']' to close the array opened at {origin}, found end of file");
            }

            if (ParseValue() is { } item)
            {
                items.Add(item);
            }

            SkipBlank(newlines: false);
            if (Peek == ',')
            {
                _pos++;
            }
            else if (Peek is not '\n' and not ']')
            {
                throw Error($"expected ',' or ']' in the array opened at {origin}, found {Describe()}");
            }
        }
    }

    /// <summary>
    /// Reads adjacent strings and substitutions on one line as one string ("a b ${X}"), keeping the
    /// whitespace between them, as HOCON's value concatenation does. A lone unquoted token becomes a
    /// number, boolean or null when it looks like one.
    /// </summary>
    private HoconScalar? ParseConcatenation()
    {
        var origin = Here;
        var text = new StringBuilder();
        var pieces = 0;
        var unsetPieces = 0;
        var quoted = false;
        string? lastUnquoted = null;
        while (true)
        {
            if (Peek == '"')
            {
                text.Append(StartsWith("\"\"\"") ? ReadTripleQuoted() : ReadQuoted());
                quoted = true;
            }
            else if (StartsWith("${"))
            {
                var substituted = ReadSubstitution();
                unsetPieces += substituted is null ? 1 : 0;
                text.Append(substituted);
            }
            else if (IsUnquotedChar())
            {
                var start = _pos;
                while (!AtEnd && IsUnquotedChar())
                {
                    _pos++;
                }

                lastUnquoted = _text[start.._pos];
                text.Append(lastUnquoted);
            }
            else
            {
                break;
            }

            pieces++;
            var whitespaceStart = _pos;
            SkipBlank(newlines: false, comments: false);
            if (Peek == '"' || StartsWith("${") || IsUnquotedChar())
            {
                text.Append(_text, whitespaceStart, _pos - whitespaceStart);
            }
        }

        if (pieces == 0)
        {
            throw Error($"expected a value, found {Describe()}");
        }

        if (unsetPieces == pieces)
        {
            return null;
        }

        if (pieces == 1 && lastUnquoted is not null)
        {
            return new HoconScalar(lastUnquoted, Classify(lastUnquoted), quoted: false, origin);
        }

        return new HoconScalar(text.ToString(), HoconScalarKind.String, quoted, origin);
    }

    private static HoconScalarKind Classify(string token)
    {
        if (token is "true" or "false")
        {
            return HoconScalarKind.Boolean;
        }

        if (token == "null")
        {
            return HoconScalarKind.Null;
        }

        // Only JSON-looking numbers: "Infinity", "NaN" and "1_000" stay strings.
        var digitsStart = token.StartsWith('-') ? 1 : 0;
        var looksNumeric = token.Length > digitsStart
            && char.IsAsciiDigit(token[digitsStart])
            && token.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or '.' or 'e' or 'E');
        return looksNumeric && double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? HoconScalarKind.Number
            : HoconScalarKind.String;
    }

    /// <summary>Returns the variable's value, or null for an unset <c>${?VAR}</c>.</summary>
    private string? ReadSubstitution()
    {
        var origin = Here;
        _pos += 2; // "${"
        var optional = Peek == '?';
        if (optional)
        {
            _pos++;
        }

        var start = _pos;
        while (!AtEnd && Peek is not '}' and not '\n')
        {
            _pos++;
        }

        if (Peek != '}')
        {
            throw Error("unterminated substitution: expected '}'");
        }

        var name = _text[start.._pos].Trim();
        _pos++;
        if (name.Length == 0)
        {
            throw Error("empty substitution '${}'");
        }

        var value = _environment(name);
        if (value is null && !optional)
        {
            // Only environment variables are substituted; references to other keys are not supported.
            throw new ConfigException(
                $"${{{name}}} at {origin}: environment variable '{name}' is not set (use ${{?{name}}} to make it optional)");
        }

        return value;
    }

    private string ReadQuoted()
    {
        var start = Here;
        _pos++; // opening quote
        var text = new StringBuilder();
        while (true)
        {
            if (AtEnd || Peek == '\n')
            {
                throw new ConfigException($"{start}: unterminated quoted string");
            }

            var c = _text[_pos++];
            if (c == '"')
            {
                return text.ToString();
            }

            if (c != '\\')
            {
                text.Append(c);
                continue;
            }

            var escape = AtEnd ? '\0' : _text[_pos++];
            switch (escape)
            {
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case '/': text.Append('/'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'u' when _pos + 4 <= _text.Length
                    && int.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    text.Append((char)code);
                    _pos += 4;
                    break;
                default:
                    throw Error($"invalid escape '\\{escape}' in quoted string");
            }
        }
    }

    /// <summary>Reads a <c>"""raw"""</c> string, which may span lines and has no escapes.</summary>
    private string ReadTripleQuoted()
    {
        var start = Here;
        _pos += 3;
        var end = _text.IndexOf("\"\"\"", _pos, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new ConfigException($"{start}: unterminated triple-quoted string");
        }

        // Extra quotes before the closing triple belong to the string, as in the HOCON spec.
        while (end + 3 < _text.Length && _text[end + 3] == '"')
        {
            end++;
        }

        var text = _text[_pos..end];
        _line += text.Count(c => c == '\n');
        _pos = end + 3;
        return text;
    }

    private bool IsIncludeDirective()
    {
        if (!StartsWith("include"))
        {
            return false;
        }

        var next = _pos + "include".Length;
        while (next < _text.Length && _text[next] is ' ' or '\t')
        {
            next++;
        }

        return next > _pos + "include".Length && next < _text.Length && _text[next] == '"';
    }

    private void ParseInclude(HoconObject target)
    {
        var origin = Here;
        _pos += "include".Length;
        SkipBlank(newlines: false, comments: false);
        var name = ReadQuoted();
        var fullPath = Path.GetFullPath(Path.Combine(_baseDirectory, name));
        if (!File.Exists(fullPath))
        {
            throw new ConfigException($"include \"{name}\" at {origin}: file not found ({fullPath})");
        }

        if (_includeChain.Contains(fullPath, StringComparer.Ordinal))
        {
            throw new ConfigException($"include \"{name}\" at {origin}: include cycle ({string.Join(" -> ", _includeChain.Append(fullPath))})");
        }

        // Origins of included values read relative to the including file's displayed path.
        var source = _fixedOrigin is null ? Path.Combine(Path.GetDirectoryName(_source) ?? string.Empty, name) : name;
        var included = new HoconParser(
            File.ReadAllText(fullPath),
            source,
            Path.GetDirectoryName(fullPath)!,
            _environment,
            [.. _includeChain, fullPath]).ParseDocument();
        target.MergeFrom(included);
    }

    private void SkipBlank(bool newlines, bool comments = true)
    {
        while (!AtEnd)
        {
            var c = Peek;
            if (c == '\n')
            {
                if (!newlines)
                {
                    return;
                }

                _line++;
                _pos++;
            }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF')
            {
                _pos++;
            }
            else if (comments && (c == '#' || StartsWith("//")))
            {
                while (!AtEnd && Peek != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private bool IsUnquotedChar()
    {
        var c = Peek;
        return !AtEnd && !char.IsWhiteSpace(c) && c != '\uFEFF' && !Forbidden.Contains(c, StringComparison.Ordinal) && !StartsWith("//");
    }

    private bool StartsWith(string text) => string.CompareOrdinal(_text, _pos, text, 0, text.Length) == 0;

    private string Describe() => AtEnd ? "end of file" : Peek == '\n' ? "end of line" : $"'{Peek}'";

    private ConfigException Error(string message) => new($"{Here}: {message}");
}
