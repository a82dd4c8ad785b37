using System.Globalization;
using System.Text;

namespace RnnCluster.Config;

/// <summary>
/// Walks HOCON text to find where things are written, because Akka's reader keeps no positions
/// and reads what it does not understand without a word. It records the line on which each key
/// path is assigned (for "at file:line" in errors), the <c>include</c> directives (which Akka only
/// reports by name) and the substitutions <c>${...}</c> (which Akka resolves only within the
/// document, and whose <c>${?VAR}</c> form it cannot read). Walking the structure to know the key
/// paths also finds what Akka would silently accept: unclosed braces and brackets, unterminated
/// strings, a key without a value; those are refused here with file and line.
/// It builds no values: no merging, unescaping of values, number reading or substitution — Akka
/// does all of that on the same text.
/// </summary>
internal sealed class HoconKeyScanner
{
    // Characters that may not appear in unquoted text (the HOCON spec's list); '.' separates key segments.
    private const string Forbidden = "$\"{}[]:=,+#`^?!@*&\\";

    private readonly string _text;
    private readonly string _source;
    private readonly ConfigOrigin? _fixedOrigin;
    private readonly List<KeyAssignment> _assignments = [];
    private readonly List<IncludeDirective> _includes = [];
    private readonly List<SubstitutionSite> _substitutions = [];
    private int _pos;
    private int _line = 1;

    private HoconKeyScanner(string text, string source, ConfigOrigin? fixedOrigin)
    {
        _text = text;
        _source = source;
        _fixedOrigin = fixedOrigin;
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => AtEnd ? '\0' : _text[_pos];

    private ConfigOrigin Here => _fixedOrigin ?? new ConfigOrigin(_source, _line);

    /// <summary>Scans a whole document (members at the root, optionally wrapped in braces).</summary>
    public static HoconKeyScan ScanDocument(string text, string source)
    {
        var scanner = new HoconKeyScanner(text, source, null);
        scanner.SkipBlank(newlines: true);
        var first = scanner.Here;
        if (scanner.Peek == '{')
        {
            scanner.ScanObject(string.Empty);
        }
        else
        {
            scanner.ScanMembers(string.Empty, closer: null);
        }

        scanner.SkipBlank(newlines: true);
        if (!scanner.AtEnd)
        {
            throw scanner.Error($"unexpected '{scanner.Peek}' after the end of the document");
        }

        return scanner.Result(first);
    }

    /// <summary>Scans one value (a <c>--set</c> override's right-hand side) assigned to <paramref name="keyPath"/>.</summary>
    public static HoconKeyScan ScanValue(string text, ConfigOrigin origin, string keyPath)
    {
        var scanner = new HoconKeyScanner(text, origin.Source, origin);
        scanner.RecordParents(keyPath);
        scanner.SkipBlank(newlines: true);
        scanner.ScanValue(keyPath, memberStart: -1);
        scanner.SkipBlank(newlines: true);
        if (!scanner.AtEnd)
        {
            throw scanner.Error($"unexpected '{scanner.Peek}' after the value");
        }

        return scanner.Result(origin);
    }

    private HoconKeyScan Result(ConfigOrigin first) => new(_assignments, _includes, _substitutions, first);

    private void ScanMembers(string prefix, char? closer)
    {
        while (true)
        {
            SkipBlank(newlines: true);
            if (AtEnd || Peek == closer)
            {
                return; // the caller checks that the closer is really there
            }

            var description = ScanMember(prefix);
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

    /// <summary>Scans one "key = value", "key { }" or include; returns a description for errors.</summary>
    private string ScanMember(string prefix)
    {
        if (TryScanInclude(prefix))
        {
            return "the include";
        }

        var memberStart = _pos;
        var key = ScanKey();
        var path = Join(prefix, key);
        RecordParents(path, prefix.Length == 0 ? 0 : prefix.Length + 1);
        SkipBlank(newlines: false, comments: false);
        if (Peek is '=' or ':')
        {
            _pos++;
            SkipBlank(newlines: false, comments: false);
            if (AtEnd || Peek is '\n' or '#' || StartsWith("//"))
            {
                throw Error($"expected a value for '{key}'");
            }

            ScanValue(path, memberStart);
        }
        else if (Peek == '{')
        {
            ScanObject(path);
        }
        else
        {
            throw Error($"expected '=', ':' or '{{' after key '{key}', found {Describe()}");
        }

        return $"the value of '{key}'";
    }

    /// <summary>Reads a possibly dotted key; quoted segments are unescaped and may hold dots.</summary>
    private string ScanKey()
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
                return string.Join('.', segments);
            }

            _pos++;
        }
    }

    /// <param name="memberStart">Where the member's key starts (-1 for an override's value), so an unset <c>${?VAR}</c> can take the whole member away.</param>
    private void ScanValue(string path, int memberStart)
    {
        switch (Peek)
        {
            case '{':
                ScanObject(path);
                break;
            case '[':
                ScanArray(path);
                break;
            default:
                ScanConcatenation(path, memberStart, elementStart: -1);
                break;
        }
    }

    private void ScanObject(string path)
    {
        var opened = Here;
        Record(path, opened.Line, isObject: true, quoted: false, substituted: false);
        _pos++; // '{'
        ScanMembers(path, '}');
        if (Peek != '}')
        {
            throw Error($"expected '}}' to close the object opened at {opened}, found {Describe()}");
        }

        _pos++;
    }

    private void ScanArray(string path)
    {
        var opened = Here;
        Record(path, opened.Line, isObject: false, quoted: false, substituted: false);
        _pos++; // '['
        for (var index = 0; ; index++)
        {
            SkipBlank(newlines: true);
            if (Peek == ']')
            {
                _pos++;
                return;
            }

            if (AtEnd)
            {
                throw Error($"expected ']' to close the array opened at {opened}, found end of file");
            }

            var elementStart = _pos;
            var element = string.Create(CultureInfo.InvariantCulture, $"{path}[{index}]");
            SubstitutionSite? site = null;
            if (Peek is '{' or '[')
            {
                ScanValue(element, memberStart: -1);
            }
            else
            {
                site = ScanConcatenation(element, memberStart: -1, elementStart);
            }

            SkipBlank(newlines: false);
            if (Peek == ',')
            {
                _pos++;
                if (site is not null)
                {
                    site.RemoveEnd = _pos; // an unset optional element leaves with its comma
                }
            }
            else if (Peek is not '\n' and not ']')
            {
                throw Error($"expected ',' or ']' in the array opened at {opened}, found {Describe()}");
            }
        }
    }

    /// <summary>
    /// Steps over adjacent strings, unquoted text and substitutions on one line (HOCON's value
    /// concatenation). Returns the substitution when it is the whole value, else null.
    /// </summary>
    private SubstitutionSite? ScanConcatenation(string path, int memberStart, int elementStart)
    {
        var line = _line;
        var pieces = 0;
        var quoted = false;
        var sites = new List<SubstitutionSite>();
        while (true)
        {
            if (Peek == '"')
            {
                if (StartsWith("\"\"\""))
                {
                    SkipTripleQuoted();
                }
                else
                {
                    ReadQuoted();
                }

                quoted = true;
            }
            else if (StartsWith("${"))
            {
                sites.Add(ReadSubstitution(path));
            }
            else if (IsUnquotedChar())
            {
                while (!AtEnd && IsUnquotedChar())
                {
                    _pos++;
                }
            }
            else
            {
                break;
            }

            pieces++;
            SkipBlank(newlines: false, comments: false);
        }

        if (pieces == 0)
        {
            throw Error($"expected a value, found {Describe()}");
        }

        Record(path, line, isObject: false, quoted, substituted: sites.Count > 0);
        if (pieces > 1 || sites.Count == 0)
        {
            return null;
        }

        var whole = sites[0];
        whole.WholeValue = true;
        whole.RemoveStart = elementStart >= 0 ? elementStart : memberStart;
        whole.RemoveEnd = whole.End;
        return whole;
    }

    private SubstitutionSite ReadSubstitution(string path)
    {
        var origin = Here;
        var start = _pos;
        _pos += 2; // "${"
        var optional = Peek == '?';
        if (optional)
        {
            _pos++;
        }

        var nameStart = _pos;
        while (!AtEnd && Peek is not '}' and not '\n')
        {
            _pos++;
        }

        if (Peek != '}')
        {
            throw Error("unterminated substitution: expected '}'");
        }

        var name = _text[nameStart.._pos].Trim();
        _pos++;
        if (name.Length == 0)
        {
            throw new ConfigException($"{origin}: empty substitution '${{}}'");
        }

        var site = new SubstitutionSite(name, optional, start, _pos, origin, path);
        _substitutions.Add(site);
        return site;
    }

    /// <summary>Reads a JSON-style quoted string and returns its text (keys need it; values only need checking).</summary>
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
                case '"' or '\\' or '/': text.Append(escape); break;
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

    /// <summary>Steps over a <c>"""raw"""</c> string, which may span lines.</summary>
    private void SkipTripleQuoted()
    {
        var start = Here;
        var end = _text.IndexOf("\"\"\"", _pos + 3, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new ConfigException($"{start}: unterminated triple-quoted string");
        }

        _line += _text.AsSpan(_pos, end - _pos).Count('\n');
        _pos = end + 3;
        if (Peek == '"')
        {
            // The HOCON spec gives such quotes to the string; Akka's reader ends it at the first three.
            throw Error("a quote right after the closing \"\"\" of a raw string; Akka's reader ends the string at the first \"\"\"");
        }
    }

    private bool TryScanInclude(string prefix)
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

        if (next == _pos + "include".Length || next >= _text.Length || _text[next] != '"')
        {
            return false;
        }

        var line = _line;
        _pos = next;
        var name = ReadQuoted();
        _includes.Add(new IncludeDirective(name, line, prefix, _assignments.Count));
        return true;
    }

    /// <summary>Records the objects a dotted key creates on its way (<c>a</c> and <c>a.b</c> for <c>a.b.c = 1</c>).</summary>
    private void RecordParents(string path, int from = 0)
    {
        for (var dot = path.IndexOf('.', from); dot > 0; dot = path.IndexOf('.', dot + 1))
        {
            Record(path[..dot], _line, isObject: true, quoted: false, substituted: false);
        }
    }

    private void Record(string path, int line, bool isObject, bool quoted, bool substituted)
    {
        if (path.Length > 0)
        {
            _assignments.Add(new KeyAssignment(path, new ValueSource(_fixedOrigin ?? new ConfigOrigin(_source, line), isObject, quoted, substituted)));
        }
    }

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

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

/// <summary>What <see cref="HoconKeyScanner"/> found in one text, in document order.</summary>
internal sealed record HoconKeyScan(
    IReadOnlyList<KeyAssignment> Assignments,
    IReadOnlyList<IncludeDirective> Includes,
    IReadOnlyList<SubstitutionSite> Substitutions,
    ConfigOrigin First);

/// <summary>A key path given a value (or an object) at <see cref="ValueSource.Origin"/>; paths are dotted, array items <c>a[0]</c>.</summary>
internal sealed record KeyAssignment(string Path, ValueSource Source);

/// <summary>An <c>include "name"</c> inside the object at <paramref name="Prefix"/>, after <paramref name="AssignmentsBefore"/> assignments.</summary>
internal sealed record IncludeDirective(string Name, int Line, string Prefix, int AssignmentsBefore);

/// <summary>
/// A <c>${name}</c> or <c>${?name}</c> between <see cref="Start"/> and <see cref="End"/> in a value of
/// <see cref="ValuePath"/>. When it is the whole value, an unset optional variable removes the text
/// from <see cref="RemoveStart"/> to <see cref="RemoveEnd"/> (the member, or the array element and
/// its comma); <see cref="RemoveStart"/> is -1 for an override, which is then dropped.
/// </summary>
internal sealed class SubstitutionSite(string name, bool optional, int start, int end, ConfigOrigin origin, string valuePath)
{
    public string Name { get; } = name;

    public bool Optional { get; } = optional;

    public int Start { get; } = start;

    public int End { get; } = end;

    public ConfigOrigin Origin { get; } = origin;

    public string ValuePath { get; } = valuePath;

    public bool WholeValue { get; set; }

    public int RemoveStart { get; set; } = -1;

    public int RemoveEnd { get; set; } = -1;
}
