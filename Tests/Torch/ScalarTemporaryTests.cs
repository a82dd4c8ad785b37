using System.Text.RegularExpressions;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Torch;

/// <summary>
/// TorchSharp's one-argument <c>add</c>/<c>add_</c> pass a temporary <c>Scalar</c> (an alpha of 1) whose
/// native value the GC may free while libtorch still reads it; the process then aborts ("Expected false to
/// be true" from <c>c10::Scalar</c>). It happened in a cluster worker inside a custom backward. The product
/// passes <c>FillValues.One</c> instead; this keeps any new call site from reintroducing it.
/// </summary>
public sealed partial class ScalarTemporaryTests
{
    [Fact]
    public void No_product_code_calls_add_with_an_implicit_alpha()
    {
        var offenders = new List<string>();
        var sources = Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "Shared"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in sources)
        {
            var text = File.ReadAllText(file);
            var scalars = ScalarVariable().Matches(text).Select(v => v.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            foreach (Match m in AddCall().Matches(text))
            {
                // One argument that is itself a Scalar (a held constant or one under using) adds that scalar: fine.
                var argument = SingleArgument(text, m.Index + m.Length);
                if (argument is not null && !scalars.Contains(argument) && !argument.StartsWith("FillValues.", StringComparison.Ordinal))
                {
                    var line = text.AsSpan(0, m.Index).Count('\n') + 1;
                    offenders.Add($"{Path.GetRelativePath(RepositoryRoot.Path, file)}:{line}");
                }
            }
        }

        Assert.True(offenders.Count == 0, $"add/add_ with one argument (pass FillValues.One as the alpha): {string.Join(", ", offenders)}");
    }

    [Fact]
    public void The_scan_finds_a_one_argument_add()
    {
        const string text = "a.add_(b.mm(c)); a.add_(b, FillValues.One); x.add(y);";
        var single = AddCall().Matches(text).Select(m => SingleArgument(text, m.Index + m.Length)).ToArray();
        Assert.Equal(new string?[] { "b.mm(c)", null, "y" }.AsEnumerable(), single);
        Assert.Equal("epsilon", ScalarVariable().Match("using var epsilon = o.Epsilon.ToScalar();").Groups[1].Value);
    }

    /// <summary>The text of the only argument of the call whose parenthesis opens at <paramref name="open"/>; null for none or several.</summary>
    private static string? SingleArgument(string text, int open)
    {
        var depth = 1;
        var arguments = 0;
        var any = false;
        var end = open;
        for (var i = open; i < text.Length && depth > 0; i++, end = i)
        {
            var c = text[i];
            if (c is '(' or '[' or '{')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}')
            {
                depth--;
            }
            else if (c == ',' && depth == 1)
            {
                arguments++;
            }

            if (depth > 0 && !char.IsWhiteSpace(c))
            {
                any = true;
            }
        }

        return any && arguments == 0 ? text[open..(end - 1)].Trim() : null;
    }

    [GeneratedRegex(@"\.add_?\(")]
    private static partial Regex AddCall();

    [GeneratedRegex(@"using var (\w+) = [^;]*\.ToScalar\(\);")]
    private static partial Regex ScalarVariable();
}
