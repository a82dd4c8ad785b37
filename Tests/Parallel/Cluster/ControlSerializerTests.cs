using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Parallel.Cluster.Wire;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>Every control message round-trips through the serializer the cluster configuration binds; nothing else is accepted.</summary>
public sealed class ControlSerializerTests(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(ClusterSystem.Config(ClusterNodes.Settings(), ClusterSystem.WorkerRole)), output: output)
{
    public static TheoryData<IMessage> Messages() =>
    [
        new RegisterWorker { Node = "akka.tcp://rnncluster@10.0.0.2:4053", Incarnation = 1733450000123, Device = "cuda:1", Threads = 8, FenceSeen = 4, HeldStep = 1200, HeldFence = 4, HeldChecksum = 0xfedcba9876543210 },
        new WorkerAccepted { RunId = "20261206-061611", Fence = 3, WorkerIndex = 2, SettingsHocon = "model { cell = gru }", Task = "acceptor", VocabularySize = 10000, OutputCount = 5, DataPlane = "10.0.0.1:4054", Incarnation = 1733450000123 },
        new WorkerRefused { Reason = "the run finished", Incarnation = 9 },
        new RunFinished { RunId = "r", Reason = "training finished" },
        new RunFinished { RunId = "r", Reason = "every worker failed", Aborted = true },
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_control_message_round_trips_through_the_bound_serializer_with_its_short_manifest(IMessage message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ControlSerializer>(serializer);
        var manifest = Serialization.ManifestFor(serializer, message);
        Assert.InRange(manifest.Length, 1, 5);

        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);

        Assert.Equal(message, back);
    }

    [Fact]
    public void Every_wire_message_type_has_a_manifest_and_a_binding()
    {
        var wireTypes = typeof(ControlSerializer).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(RegisterWorker).Namespace && typeof(IMessage).IsAssignableFrom(t))
            .ToHashSet();

        Assert.Equal(wireTypes.OrderBy(t => t.Name), ControlSerializer.MessageTypes.OrderBy(t => t.Name));
        Assert.All(wireTypes, t => Assert.IsType<ControlSerializer>(Sys.Serialization.FindSerializerForType(t)));
    }

    [Fact]
    public void A_message_over_one_MiB_is_refused_and_names_its_type_and_size()
    {
        var serializer = Sys.Serialization.FindSerializerForType(typeof(WorkerAccepted));
        var huge = new WorkerAccepted { SettingsHocon = new string('x', ControlSerializer.MaxMessageBytes + 1) };

        var e = Assert.Throws<ControlMessageTooLargeException>(() => serializer.ToBinary(huge));
        Assert.Contains("WorkerAccepted", e.Message, StringComparison.Ordinal);
        Assert.Contains("1,048,5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unregistered_message_type_is_refused_instead_of_falling_back_to_json()
    {
        Assert.ThrowsAny<Exception>(() => Sys.Serialization.FindSerializerForType(typeof(NotBound)));
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_its_name()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(RunFinished));

        var e = Assert.ThrowsAny<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "zzz"));
        Assert.Contains("'zzz'", e.Message, StringComparison.Ordinal);
    }

    private sealed record NotBound(int Value);
}
