using RnnCluster.DataPlane;

namespace RnnCluster.Tests.DataPlane;

public sealed class ClusterSecretTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnncluster-secret-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_secret_file_is_read_with_its_trailing_newline_dropped()
    {
        var path = Write("0123456789abcdef\n");

        var secret = ClusterSecret.LoadFromFile(path);

        Assert.Equal(16, secret.Length);
        Assert.Contains(path, secret.Source, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", secret.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_secret_file_is_a_startup_error_naming_the_file()
    {
        var path = Path.Combine(_directory, "absent.secret");

        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.LoadFromFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_secret_file_is_a_startup_error_naming_the_file()
    {
        // A directory cannot be read as a file on every platform, also when running as root.
        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.LoadFromFile(_directory));

        Assert.Contains(_directory, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public void A_secret_file_shorter_than_16_bytes_is_refused_naming_the_file_and_the_minimum()
    {
        var path = Write("0123456789abcde\r\n");

        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.LoadFromFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("15 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unset_environment_variable_is_a_startup_error_naming_it()
    {
        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.LoadFromEnvironment("RNN_CLUSTER_SECRET", _ => null));

        Assert.Contains("RNN_CLUSTER_SECRET", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_environment_variable_is_refused_naming_it()
    {
        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.LoadFromEnvironment("RNN_CLUSTER_SECRET", _ => "short"));

        Assert.Contains("RNN_CLUSTER_SECRET", error.Message, StringComparison.Ordinal);
        Assert.Contains("5 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_string_selects_file_or_environment_and_anything_else_is_refused()
    {
        var path = Write("0123456789abcdef0123");

        Assert.Equal(20, ClusterSecret.Load("file:" + path).Length);
        Assert.Equal(17, ClusterSecret.Load("env:S", name => name == "S" ? "0123456789abcdefg" : null).Length);
        var error = Assert.Throws<ClusterSecretException>(() => ClusterSecret.Load(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    private string Write(string content)
    {
        var path = Path.Combine(_directory, "cluster.secret");
        File.WriteAllText(path, content);
        return path;
    }
}
