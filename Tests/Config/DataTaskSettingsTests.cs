using RnnCluster.Config;

namespace RnnCluster.Tests.Config;

/// <summary>The <c>data.*</c> keys of sequence tasks: task kind, maximum length and its policy, bucketing pool, data directory.</summary>
public sealed class DataTaskSettingsTests
{
    private static RnnClusterSettings Load(string text) => ConfigLoader.LoadText(text, "cluster.hocon", [], Env.Empty);

    [Fact]
    public void The_defaults_read_plain_text_as_before_and_bucket_with_a_256_token_limit()
    {
        var data = RnnClusterSettings.Default.Data;

        Assert.Equal(DataTaskKind.Auto, data.Task);
        Assert.Equal(256, data.MaxLength);
        Assert.Equal(LengthPolicy.Truncate, data.MaxLengthPolicy);
        Assert.Equal(50, data.BucketPool);
        Assert.Equal(string.Empty, data.Dir);
        Assert.Equal(TokenizerKind.Word, data.TargetTokenizer);
    }

    [Fact]
    public void Task_keys_bind_from_their_configuration_names()
    {
        var data = Load("data { task = transducer, max-length = 0, max-length-policy = drop, bucket-pool = 1, dir = \"/data\", target-tokenizer = char }").Data;

        Assert.Equal(
            DataSettings.Default with
            {
                Task = DataTaskKind.Transducer,
                MaxLength = 0,
                MaxLengthPolicy = LengthPolicy.Drop,
                BucketPool = 1,
                Dir = "/data",
                TargetTokenizer = TokenizerKind.Char,
            },
            data);
    }

    [Theory]
    [InlineData("data.task = classifier", "data.task = classifier at cluster.hocon:1: expected one of 'auto', 'language-model', 'acceptor', 'transducer' or 'encoder-decoder'")]
    [InlineData("data.max-length-policy = cut", "data.max-length-policy = cut at cluster.hocon:1: expected one of 'truncate' or 'drop'")]
    [InlineData("data.max-length = -1", "data.max-length = -1 at cluster.hocon:1: must be at least 0")]
    [InlineData("data.bucket-pool = 0", "data.bucket-pool = 0 at cluster.hocon:1: must be at least 1")]
    public void Bad_values_name_the_key_the_value_and_what_is_valid(string text, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => Load(text));

        Assert.Equal(expected, error.Message);
    }
}
