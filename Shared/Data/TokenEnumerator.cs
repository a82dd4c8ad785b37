using System.Text;

namespace RnnCluster.Data;

/// <summary>
/// Walks text token by token without allocating a string per token, so corpora of hundreds of
/// millions of tokens can be counted and encoded through span lookups. Lines end at "\n" (an "\r"
/// before it is dropped) and every line, even an empty one, ends with <see cref="Vocabulary.EndOfSentence"/>,
/// as PyTorch's word_language_model does.
/// </summary>
internal ref struct TokenEnumerator
{
    private readonly TextTokenizer _kind;
    private ReadOnlySpan<char> _rest;
    private ReadOnlySpan<char> _line;
    private bool _inLine;

    public TokenEnumerator(ReadOnlySpan<char> text, TextTokenizer kind)
    {
        _rest = text;
        _kind = kind;
    }

    public ReadOnlySpan<char> Current { get; private set; }

    public bool IsEndOfSentence { get; private set; }

    public bool MoveNext()
    {
        if (!_inLine)
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            var newline = _rest.IndexOf('\n');
            if (newline < 0)
            {
                _line = _rest;
                _rest = [];
            }
            else
            {
                _line = _rest[..newline];
                _rest = _rest[(newline + 1)..];
            }

            if (_line.EndsWith('\r'))
            {
                _line = _line[..^1];
            }

            _inLine = true;
        }

        if (_kind == TextTokenizer.Word)
        {
            _line = _line.TrimStart();
        }

        if (_line.IsEmpty)
        {
            _inLine = false;
            IsEndOfSentence = true;
            Current = Vocabulary.EndOfSentence;
            return true;
        }

        int length;
        if (_kind == TextTokenizer.Word)
        {
            length = 0;
            while (length < _line.Length && !char.IsWhiteSpace(_line[length]))
            {
                length++;
            }
        }
        else
        {
            // A lone surrogate (only possible in text not decoded from UTF-8) becomes a token of its own.
            length = Rune.DecodeFromUtf16(_line, out _, out var consumed) == System.Buffers.OperationStatus.Done ? consumed : 1;
        }

        IsEndOfSentence = false;
        Current = _line[..length];
        _line = _line[length..];
        return true;
    }
}
