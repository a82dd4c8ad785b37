using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Tests.DataPlane.Tensors;

public sealed class TensorHeaderTests
{
    [Fact]
    public void Headers_compare_by_content_including_their_values()
    {
        var a = new TensorHeader { Kind = TensorKind.Gradients, Step = 3, Values = new Dictionary<string, double> { ["loss"] = 1.5, ["tokens"] = 10 } };
        var b = a with { Values = new Dictionary<string, double> { ["tokens"] = 10, ["loss"] = 1.5 } };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Values = new Dictionary<string, double> { ["tokens"] = 10, ["loss"] = 1.25 } });
        Assert.NotEqual(a, a with { Attempt = 1 });
    }

    [Fact]
    public void A_header_without_a_kind_or_with_too_many_values_is_refused_naming_the_field()
    {
        Assert.Equal(nameof(TensorHeader.Kind), Assert.Throws<ArgumentException>(() => new TensorHeader { Kind = 0 }.Validate()).ParamName);
        var crowded = Enumerable.Range(0, TensorHeader.MaxValues + 1).ToDictionary(i => $"v{i}", i => (double)i);
        Assert.Equal(nameof(TensorHeader.Values), Assert.Throws<ArgumentException>(() => new TensorHeader { Kind = TensorKind.States, Values = crowded }.Validate()).ParamName);
        Assert.Equal(nameof(TensorHeader.RunId), Assert.Throws<ArgumentException>(() => new TensorHeader { Kind = TensorKind.States, RunId = new string('r', 129) }.Validate()).ParamName);
        Assert.Equal(nameof(TensorHeader.Values), Assert.Throws<ArgumentException>(() => new TensorHeader { Kind = TensorKind.States, Values = new Dictionary<string, double> { [""] = 1 } }.Validate()).ParamName);
    }

    [Theory]
    [InlineData("10.0.0.5:7400", "10.0.0.5", 7400)]
    [InlineData("worker-3.rnn.svc:1", "worker-3.rnn.svc", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    public void An_endpoint_reads_back_from_its_text(string text, string host, int port)
    {
        var endpoint = DataPlaneEndPoint.Parse(text);

        Assert.Equal(new DataPlaneEndPoint(host, port), endpoint);
        Assert.Equal(text, endpoint.ToString());
    }

    [Theory]
    [InlineData("10.0.0.5")]
    [InlineData(":7400")]
    [InlineData("10.0.0.5:0")]
    [InlineData("10.0.0.5:70000")]
    [InlineData("::1:7400")]
    [InlineData("host:http")]
    public void A_malformed_endpoint_is_a_FormatException_naming_it(string text)
    {
        var error = Assert.Throws<FormatException>(() => DataPlaneEndPoint.Parse(text));

        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_out_of_range_are_refused_naming_the_field()
    {
        var options = new TensorTransportOptions { Identity = new NodeIdentity("rnn://a@127.0.0.1", 1) };

        Assert.Same(options, options.Validate());
        Assert.Equal(nameof(TensorTransportOptions.TransferTimeout), Assert.Throws<ArgumentOutOfRangeException>(() => (options with { TransferTimeout = TimeSpan.Zero }).Validate()).ParamName);
        Assert.Equal(nameof(TensorTransportOptions.ReceiveCapacity), Assert.Throws<ArgumentOutOfRangeException>(() => (options with { ReceiveCapacity = 0 }).Validate()).ParamName);
        Assert.Equal(nameof(TensorTransportOptions.Path), Assert.Throws<ArgumentOutOfRangeException>(() => (options with { Path = "tensors" }).Validate()).ParamName);
    }
}
