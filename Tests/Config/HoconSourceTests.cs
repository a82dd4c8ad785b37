using RnnCluster.Config;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Config;

/// <summary>Reading HOCON through Akka's reader plus <see cref="HoconSource"/>: syntax, includes, substitutions, origins.</summary>
public sealed class HoconSourceTests
{
    private static ConfigTree Parse(string text, Func<string, string?>? environment = null) =>
        HoconSource.ReadText(text, "test.conf", environment ?? Env.Empty);

    [Fact]
    public void Nested_objects_are_read_by_dotted_path()
    {
        var root = Parse("a {\n  b {\n    c = 42\n  }\n}\n");

        Assert.Equal(42, root.GetInt("a.b.c"));
    }

    [Fact]
    public void A_braced_root_is_the_same_as_a_bare_root()
    {
        var root = Parse("{ a = 1, b = 2 }");

        Assert.Equal(["a", "b"], root.Root.Keys);
        Assert.Equal(2, root.GetInt("b"));
    }

    [Fact]
    public void Equals_colon_and_no_separator_before_a_brace_all_set_a_key()
    {
        var root = Parse("a = 1\nb: 2\nc { d = 3 }\ne = { f = 4 }\n");

        Assert.Equal(1, root.GetInt("a"));
        Assert.Equal(2, root.GetInt("b"));
        Assert.Equal(3, root.GetInt("c.d"));
        Assert.Equal(4, root.GetInt("e.f"));
    }

    [Fact]
    public void Dotted_keys_create_nested_objects()
    {
        var root = Parse("a.b.c = 1\na.b.d = 2\n");

        Assert.Equal(["c", "d"], root.GetObject("a.b").Keys);
        Assert.Equal(2, root.GetInt("a.b.d"));
    }

    [Fact]
    public void A_repeated_object_merges_into_the_earlier_one()
    {
        var root = Parse("a { x = 1, y = 2 }\na { y = 3, z = 4 }\na.w = 5\n");

        Assert.Equal(["x", "y", "z", "w"], root.GetObject("a").Keys);
        Assert.Equal(1, root.GetInt("a.x"));
        Assert.Equal(3, root.GetInt("a.y"));
        Assert.Equal(4, root.GetInt("a.z"));
    }

    [Fact]
    public void A_later_scalar_replaces_an_object_and_a_later_object_replaces_a_scalar()
    {
        var root = Parse("a { x = 1 }\na = 5\nb = 5\nb { y = 2 }\n");

        Assert.Equal(5, root.GetInt("a"));
        Assert.Equal(["y"], root.GetObject("b").Keys);
    }

    [Fact]
    public void Arrays_hold_values_separated_by_commas_or_new_lines()
    {
        var root = Parse("a = [1, 2, 3]\nb = [\n  \"x\"\n  y,\n]\nc = []\n");

        Assert.True(root.TryGetValue("a", out var a));
        Assert.True(a.IsArray);
        Assert.Equal(["1", "2", "3"], a.Items.Select(i => i.Text));
        Assert.Equal(["x", "y"], root.GetStringList("b"));
        Assert.Empty(root.GetStringList("c"));
    }

    [Fact]
    public void Hash_and_double_slash_comments_are_ignored()
    {
        var root = Parse("# heading\na = 1 # trailing\n// another\nb = 2 // trailing\nc = \"# not a comment\"\nd = a/b// trailing\n");

        Assert.Equal(1, root.GetInt("a"));
        Assert.Equal(2, root.GetInt("b"));
        Assert.Equal("# not a comment", root.GetString("c"));
        Assert.Equal("a/b", root.GetString("d"));
    }

    [Fact]
    public void Quoted_strings_unescape_json_escapes()
    {
        var root = Parse("a = \"tab\\tquote\\\" slash\\\\ nl\\n \\u00e9\"\n\"dotted.key\" = 1\n");

        Assert.Equal("tab\tquote\" slash\\ nl\n é", root.GetString("a"));
        Assert.True(root.Root.TryGetField("dotted.key", out _));
    }

    [Fact]
    public void Triple_quoted_strings_are_raw_and_may_span_lines()
    {
        var root = Parse("a = \"\"\"C:\\data\nline2\"\"\"\nb = 1\n");

        Assert.Equal("C:\\data\nline2", root.GetString("a"));
        Assert.Equal(3, root.TryGetValue("b", out var b) ? b.Origin.Line : 0);
    }

    [Fact]
    public void Unquoted_values_read_as_numbers_booleans_or_null_and_adjacent_pieces_concatenate()
    {
        // Replaces a check of the old reader's scalar kinds: what the kinds promised is how the values read.
        var root = Parse("n = -1.5e3\nt = true\nz = null\nq = \"null\"\ns = hello world\np = data/train.txt\n");

        Assert.Equal("-1.5e3", root.GetString("n"));
        Assert.Equal(-1500.0, root.GetDouble("n"));
        Assert.True(root.GetBoolean("t"));
        Assert.True(root.TryGetValue("z", out var z) && z.IsNull);
        Assert.Equal("fallback", root.GetString("z", "fallback"));
        Assert.Equal("null", root.GetString("q"));
        Assert.Equal("hello world", root.GetString("s"));
        Assert.Equal("data/train.txt", root.GetString("p"));
    }

    [Fact]
    public void Every_value_remembers_its_file_and_line()
    {
        var root = Parse("\n\na {\n  b = 1\n}\n");

        Assert.True(root.TryGetValue("a.b", out var b));
        Assert.Equal(new ConfigOrigin("test.conf", 4), b.Origin);
        Assert.Equal("test.conf:4", b.Origin.ToString());
    }

    [Fact]
    public void Include_merges_a_file_relative_to_the_including_file()
    {
        using var dir = new TempDirectory();
        dir.Write("conf/base.conf", "a { x = 1, y = 2 }\n");
        var main = dir.Write("conf/main.conf", "include \"base.conf\"\na.y = 3\n");

        var root = HoconSource.ReadFile(main, Env.Empty);

        Assert.Equal(1, root.GetInt("a.x"));
        Assert.Equal(3, root.GetInt("a.y"));
        Assert.True(root.TryGetValue("a.x", out var x));
        Assert.Equal(1, x.Origin.Line);
        Assert.EndsWith("base.conf", x.Origin.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_inside_an_object_merges_into_that_object()
    {
        using var dir = new TempDirectory();
        dir.Write("part.conf", "x = 1\n");
        var main = dir.Write("main.conf", "a {\n  include \"part.conf\"\n  y = 2\n}\n");

        var root = HoconSource.ReadFile(main, Env.Empty);

        Assert.Equal(["x", "y"], root.GetObject("a").Keys);
    }

    [Fact]
    public void Includes_nest_each_relative_to_the_file_that_includes_it()
    {
        using var dir = new TempDirectory();
        dir.Write("conf/sub/more.conf", "z = 3\n");
        dir.Write("conf/sub/part.conf", "y = 2\ninclude \"more.conf\"\n");
        var main = dir.Write("conf/main.conf", "x = 1\ninclude \"sub/part.conf\"\nz = 4\n");

        var root = HoconSource.ReadFile(main, Env.Empty);

        Assert.Equal(["x", "y", "z"], root.Root.Keys);
        Assert.Equal(4, root.GetInt("z"));
        Assert.True(root.TryGetValue("z", out var z));
        Assert.Equal(new ConfigOrigin(main, 3), z.Origin);
        Assert.True(root.TryGetValue("y", out var y));
        Assert.Equal(new ConfigOrigin(System.IO.Path.Combine(dir.Path, "conf", "sub/part.conf"), 1), y.Origin);
    }

    [Fact]
    public void A_missing_include_names_the_including_file_and_line()
    {
        using var dir = new TempDirectory();
        var main = dir.Write("main.conf", "a = 1\ninclude \"nope.conf\"\n");

        var error = Assert.Throws<ConfigException>(() => HoconSource.ReadFile(main, Env.Empty));

        Assert.StartsWith($"include \"nope.conf\" at {main}:2: file not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_include_cycle_is_an_error()
    {
        using var dir = new TempDirectory();
        dir.Write("a.conf", "include \"b.conf\"\n");
        dir.Write("b.conf", "include \"a.conf\"\n");

        var error = Assert.Throws<ConfigException>(() => HoconSource.ReadFile(System.IO.Path.Combine(dir.Path, "a.conf"), Env.Empty));

        Assert.Contains("include cycle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_include_cycle_names_the_include_and_the_files_in_the_cycle()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a.conf", "x = 1\ninclude \"b.conf\"\n");
        var b = dir.Write("b.conf", "\ninclude \"a.conf\"\n");

        var error = Assert.Throws<ConfigException>(() => HoconSource.ReadFile(a, Env.Empty));

        Assert.Equal($"include \"a.conf\" at {System.IO.Path.Combine(dir.Path, "b.conf")}:2: include cycle ({a} -> {b} -> {a})", error.Message);
    }

    [Fact]
    public void A_set_optional_variable_replaces_the_earlier_value()
    {
        var root = Parse("a = 1\na = ${?RNN_A}\n", Env.Of(("RNN_A", "7")));

        Assert.Equal(7, root.GetInt("a"));
    }

    [Fact]
    public void An_unset_optional_variable_keeps_the_earlier_value_or_leaves_the_key_absent()
    {
        var root = Parse("a = 1\na = ${?RNN_A}\nb = ${?RNN_B}\nc = [1, ${?RNN_C}, 3]\n");

        Assert.Equal(1, root.GetInt("a"));
        Assert.False(root.TryGetValue("b", out _));
        Assert.Equal(["1", "3"], root.GetStringList("c"));
    }

    [Fact]
    public void A_variable_concatenates_with_adjacent_text()
    {
        var root = Parse("p = ${HOME}\"/data\"\nq = x${?NOPE}y\n", Env.Of(("HOME", "/home/me")));

        Assert.Equal("/home/me/data", root.GetString("p"));
        Assert.Equal("xy", root.GetString("q"));
    }

    [Fact]
    public void A_required_variable_is_read_from_the_environment_as_a_string()
    {
        var root = Parse("runtime.seed = ${RNN_SEED}\nname = ${RNN_NAME}\n", Env.Of(("RNN_SEED", "99"), ("RNN_NAME", "a \"b\" c")));

        Assert.Equal(99L, root.GetLong("runtime.seed"));
        Assert.Equal("a \"b\" c", root.GetString("name"));
    }

    [Fact]
    public void A_substitution_naming_a_setting_of_the_document_reads_that_setting()
    {
        // The HOCON rule: a path the document sets wins over an environment variable of that name.
        var root = Parse("base = 5\ncopy = ${base}\nwords = [${?base}, ${NAME}]\n", Env.Of(("base", "9"), ("NAME", "env")));

        Assert.Equal(5, root.GetInt("copy"));
        Assert.Equal(["5", "env"], root.GetStringList("words"));
    }

    [Fact]
    public void A_substitution_naming_its_own_key_reads_the_environment()
    {
        var root = Parse("HOME = ${HOME}\"/x\"\n", Env.Of(("HOME", "/home/me")));

        Assert.Equal("/home/me/x", root.GetString("HOME"));
    }

    [Fact]
    public void A_cycle_of_substitutions_between_settings_is_an_error()
    {
        var error = Assert.Throws<ConfigException>(() => Parse("a = ${b}\nb = ${a}\n"));

        Assert.Equal("${b} at test.conf:1: substitution cycle (a -> b -> a)", error.Message);
    }

    [Fact]
    public void A_missing_required_variable_names_the_file_and_line()
    {
        var error = Assert.Throws<ConfigException>(() => Parse("a = 1\nb = ${RNN_MISSING}\n"));

        Assert.Equal(
            "${RNN_MISSING} at test.conf:2: environment variable 'RNN_MISSING' is not set (use ${?RNN_MISSING} to make it optional)",
            error.Message);
    }

    [Theory]
    [InlineData("a = {\n  b = 1\n", "test.conf:3: expected '}' to close the object opened at test.conf:1, found end of file")]
    [InlineData("a = [1, 2\n", "test.conf:2: expected ']' to close the array opened at test.conf:1, found end of file")]
    [InlineData("a = 1\nb 2\n", "test.conf:2: expected '=', ':' or '{' after key 'b', found '2'")]
    [InlineData("a = 1\n\nb = \"open\n", "test.conf:3: unterminated quoted string")]
    [InlineData("a = \"bad \\q\"\n", "test.conf:1: invalid escape '\\q' in quoted string")]
    [InlineData("{ a = 1 } x\n", "test.conf:1: unexpected 'x' after the end of the document")]
    [InlineData("a =\n", "test.conf:1: expected a value for 'a'")]
    [InlineData("= 1\n", "test.conf:1: expected a key, found '='")]
    [InlineData("a = [1 2 ,, 3]\n", "test.conf:1: expected a value, found ','")]
    [InlineData("a = { b = 1 } c = 2\n", "test.conf:1: expected ',' or a new line after the value of 'a', found 'c'")]
    [InlineData("a = \"\"\"x\"\"\"\"\nb = 1\n", "test.conf:1: a quote right after the closing \"\"\" of a raw string; Akka's reader ends the string at the first \"\"\"")]
    public void Bad_syntax_is_reported_with_file_and_line(string text, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => Parse(text));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void Windows_line_endings_read_like_unix_ones()
    {
        var root = Parse("a = 1\r\nb {\r\n  c = x y\r\n}\r\n");

        Assert.Equal("x y", root.GetString("b.c"));
        Assert.True(root.TryGetValue("b.c", out var c));
        Assert.Equal(3, c.Origin.Line);
    }

    [Fact]
    public void A_missing_file_is_an_error_naming_it()
    {
        var error = Assert.Throws<ConfigException>(() => HoconSource.ReadFile("no/such/file.hocon", Env.Empty));

        Assert.StartsWith("configuration file 'no/such/file.hocon' not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_variable_in_an_included_file_names_that_file_and_line()
    {
        using var dir = new TempDirectory();
        dir.Write("part.conf", "a = 1\nb = ${RNN_MISSING}\n");
        var main = dir.Write("main.conf", "include \"part.conf\"\n");

        var error = Assert.Throws<ConfigException>(() => HoconSource.ReadFile(main, Env.Empty));

        Assert.StartsWith($"${{RNN_MISSING}} at {System.IO.Path.Combine(dir.Path, "part.conf")}:2: environment variable", error.Message, StringComparison.Ordinal);
    }
}
