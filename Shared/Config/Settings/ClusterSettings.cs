namespace RnnCluster.Config;

/// <summary>
/// <c>cluster.*</c>: how a node takes part in a multi-process run — its endpoint, the seeds it joins
/// through, the shared secret, optional TLS, and the failure detector the coordinator (the leader)
/// uses to down workers that stopped answering.
/// </summary>
public sealed record ClusterSettings
{
    public static ClusterSettings Default { get; } = new();

    /// <summary>The address this node binds and that peers dial; loopback needs no secret, anything else does.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 = any free port (workers), the coordinator needs a known one for the seed list.</summary>
    public int Port { get; init; } = 2552;

    /// <summary>
    /// TCP port of this node's tensor data plane; 0 = any free port (the node tells its peers which
    /// through Akka). A fixed one is for firewalls and container port lists.
    /// </summary>
    public int DataPlanePort { get; init; }

    /// <summary><c>host:port</c> of nodes to join through; a worker needs at least one (here or <c>--seed</c>).</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary><c>file:PATH</c> or <c>env:NAME</c>; empty = the fixed loopback-only key (refused off loopback).</summary>
    public string Secret { get; init; } = "";

    public string TlsCertificate { get; init; } = "";

    public string TlsKey { get; init; } = "";

    public string TlsCa { get; init; } = "";

    /// <summary>Remote workers the coordinator waits for before the first step.</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>How long a worker tries the seeds (and waits for a lost coordinator) before it gives up.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(3);

    public double PhiThreshold { get; init; } = 8.0;

    /// <summary>Ignored since the move to Akka.Cluster (the split-brain resolver's stable-after downs); read so old files and checkpoints load.</summary>
    public TimeSpan DownUnreachableAfter { get; init; } = TimeSpan.Zero;

    /// <summary>Largest frame; bigger payloads (gradients, parameters) travel in chunks of this size.</summary>
    public long ChunkSize { get; init; } = 1024 * 1024;

    /// <summary>Whether step commands carry the run's snapshot so a coordinator taking over rebuilds from the workers (no step lost).</summary>
    public bool RebuildFromWorkers { get; init; } = true;

    /// <summary>How long a coordinator that takes over waits for every worker member to register before choosing where to resume.</summary>
    public TimeSpan RebuildWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether gradients are averaged through the coordinator or by an all-reduce among the workers.</summary>
    public GradientExchange GradientExchange { get; init; } = GradientExchange.AllReduce;

    /// <summary>All-reduce: gradients on the wire as bf16 (sums stay float32), or as they are.</summary>
    public GradientCompressionSetting GradientCompression { get; init; } = GradientCompressionSetting.None;

    /// <summary>All-reduce: bytes of gradient reduced as one unit (one message per peer each way).</summary>
    public long AllReduceBucketSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>New generations plan streams by each worker's measured speed when they differ clearly.</summary>
    public bool BalanceStreams { get; init; } = true;

    /// <summary>All-reduce: each layer's gradients start their all-reduce as soon as backward has finished them.</summary>
    public bool OverlapBackward { get; init; } = true;

    /// <summary>All-reduce with overlap: blocks of vocabulary rows an untied LM decoder reports its gradients in during its backward (1 = whole, after it).</summary>
    public int DecoderGradientBlocks { get; init; } = 1;

    /// <summary>Data plane: tensors to a process on the same host go through a ring of shared memory, not the socket.</summary>
    public bool SharedMemory { get; init; } = true;

    /// <summary>Data plane: bytes of each sending side's shared-memory ring.</summary>
    public long SharedMemoryRingSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>All-reduce: how long a peer may send nothing before the step is abandoned and re-planned.</summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Test-only: read <c>RNNCLUSTER_FAULTS</c> (delay/loss injection in the transport).</summary>
    public bool TestFaults { get; init; }

    /// <summary>How the node finds its cluster: the seeds above, or Akka.Management's bootstrap.</summary>
    public DiscoverySettings Discovery { get; init; } = DiscoverySettings.Default;

    /// <summary>The node's HTTP endpoint: health probes, and the bootstrap's questions.</summary>
    public ManagementSettings Management { get; init; } = ManagementSettings.Default;

    public bool IsLoopback => Host is "127.0.0.1" or "::1" or "localhost";

    public static ClusterSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var tls = section.Bind("tls", s => (
            Certificate: s.GetString("certificate", Default.TlsCertificate),
            Key: s.GetString("key", Default.TlsKey),
            Ca: s.GetString("ca", Default.TlsCa)));
        var settings = new ClusterSettings
        {
            Host = section.GetString("host", Default.Host, h => !string.IsNullOrWhiteSpace(h) && !h.Contains('/', StringComparison.Ordinal), "a host name or IP address"),
            Port = section.GetInt("port", Default.Port, ValueRange.Between(0, true, 65535, true)),
            DataPlanePort = section.GetInt("data-plane-port", Default.DataPlanePort, ValueRange.Between(0, true, 65535, true)),
            Seeds = section.GetStringList("seeds", Default.Seeds),
            Secret = section.GetString("secret", Default.Secret, s => s.Length == 0 || s.StartsWith("file:", StringComparison.Ordinal) || s.StartsWith("env:", StringComparison.Ordinal), "\"file:PATH\", \"env:NAME\" or \"\""),
            TlsCertificate = tls.Certificate,
            TlsKey = tls.Key,
            TlsCa = tls.Ca,
            MinWorkers = section.GetInt("min-workers", Default.MinWorkers, ValueRange.AtLeast(1)),
            JoinTimeout = section.GetDuration("join-timeout", Default.JoinTimeout, TimeSpan.FromMilliseconds(1)),
            HeartbeatInterval = section.GetDuration("heartbeat-interval", Default.HeartbeatInterval, TimeSpan.FromMilliseconds(10)),
            AcceptableHeartbeatPause = section.GetDuration("acceptable-heartbeat-pause", Default.AcceptableHeartbeatPause, TimeSpan.Zero),
            PhiThreshold = section.GetDouble("phi-threshold", Default.PhiThreshold, ValueRange.Positive),
            DownUnreachableAfter = section.GetDuration("down-unreachable-after", Default.DownUnreachableAfter, TimeSpan.Zero),
            ChunkSize = section.GetSize("chunk-size", Default.ChunkSize, 1024),
            RebuildFromWorkers = section.GetBoolean("rebuild-from-workers", Default.RebuildFromWorkers),
            RebuildWait = section.GetDuration("rebuild-wait", Default.RebuildWait, TimeSpan.Zero),
            TestFaults = section.GetBoolean("test-faults", Default.TestFaults),
            GradientExchange = section.GetEnum("gradient-exchange", Default.GradientExchange, SettingNames.GradientExchanges),
            GradientCompression = section.GetEnum("gradient-compression", Default.GradientCompression, SettingNames.GradientCompressions),
            AllReduceBucketSize = section.GetSize("all-reduce-bucket-size", Default.AllReduceBucketSize, 1024),
            TransferTimeout = section.GetDuration("transfer-timeout", Default.TransferTimeout, TimeSpan.FromMilliseconds(100)),
            OverlapBackward = section.GetBoolean("overlap-backward", Default.OverlapBackward),
            DecoderGradientBlocks = section.GetInt("decoder-gradient-blocks", Default.DecoderGradientBlocks, ValueRange.AtLeast(1)),
            BalanceStreams = section.GetBoolean("balance-streams", Default.BalanceStreams),
            SharedMemory = section.GetBoolean("shared-memory", Default.SharedMemory),
            SharedMemoryRingSize = section.GetSize("shared-memory-ring-size", Default.SharedMemoryRingSize, 256 * 1024),
        };
        var discovery = section.Bind("discovery", DiscoverySettings.Bind);
        settings = settings with { Discovery = discovery, Management = section.Bind("management", s => ManagementSettings.Bind(s, discovery)) };
        if (settings.Discovery.UsesBootstrap && settings.Seeds.Count > 0)
        {
            // Akka's bootstrap gives up when seed nodes are configured; two ways of joining would only confuse.
            throw section.Error("seeds", $"must be empty with cluster.discovery.method = {SettingNames.DiscoveryMethods.ToName(settings.Discovery.Method)}: the bootstrap finds the cluster (or set the method to seeds)");
        }

        foreach (var seed in settings.Seeds)
        {
            if (!SeedAddress.TryParse(seed, out _))
            {
                throw section.Error("seeds", $"'{seed}' is not host:port");
            }
        }

        if (settings.DataPlanePort != 0 && settings.DataPlanePort == settings.Port)
        {
            throw section.Error("data-plane-port", $"must differ from cluster.port = {settings.Port}, where Akka.Remote listens (or be 0 for any free port)");
        }

        if ((settings.TlsCertificate.Length == 0) != (settings.TlsKey.Length == 0))
        {
            throw section.Error("tls", "tls.certificate and tls.key are set together or not at all");
        }

        if (settings.TlsCa.Length > 0 && settings.TlsCertificate.Length == 0)
        {
            throw section.Error("tls", "tls.ca needs tls.certificate and tls.key (peers must present a certificate from the CA, and so must this node)");
        }

        if (settings.AllReduceBucketSize > int.MaxValue)
        {
            throw section.Error("all-reduce-bucket-size", "must be below 2 GiB");
        }

        if (settings.ChunkSize > int.MaxValue)
        {
            throw section.Error("chunk-size", "must be below 2 GiB");
        }

        if (settings.SharedMemoryRingSize > 1L << 30)
        {
            throw section.Error("shared-memory-ring-size", "must be at most 1GiB");
        }

        return settings;
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("host", Host);
        writer.Write("port", Port);
        writer.Write("data-plane-port", DataPlanePort);
        writer.WriteStringList("seeds", Seeds);
        writer.Write("secret", Secret);
        writer.Section("tls", tls =>
        {
            tls.Write("certificate", TlsCertificate);
            tls.Write("key", TlsKey);
            tls.Write("ca", TlsCa);
        });
        writer.Write("min-workers", MinWorkers);
        writer.WriteDuration("join-timeout", JoinTimeout);
        writer.WriteDuration("heartbeat-interval", HeartbeatInterval);
        writer.WriteDuration("acceptable-heartbeat-pause", AcceptableHeartbeatPause);
        writer.Write("phi-threshold", PhiThreshold);
        writer.WriteDuration("down-unreachable-after", DownUnreachableAfter);
        writer.WriteSize("chunk-size", ChunkSize);
        writer.WriteName("gradient-exchange", SettingNames.GradientExchanges.ToName(GradientExchange));
        writer.WriteName("gradient-compression", SettingNames.GradientCompressions.ToName(GradientCompression));
        writer.WriteSize("all-reduce-bucket-size", AllReduceBucketSize);
        writer.WriteDuration("transfer-timeout", TransferTimeout);
        writer.Write("overlap-backward", OverlapBackward);
        writer.Write("decoder-gradient-blocks", DecoderGradientBlocks);
        writer.Write("balance-streams", BalanceStreams);
        writer.Write("shared-memory", SharedMemory);
        writer.WriteSize("shared-memory-ring-size", SharedMemoryRingSize);
        writer.Write("rebuild-from-workers", RebuildFromWorkers);
        writer.WriteDuration("rebuild-wait", RebuildWait);
        writer.Write("test-faults", TestFaults);
        writer.Section("discovery", Discovery.Write);
        writer.Section("management", Management.Write);
    }

    // Records compare lists by reference; settings compare by value (a resumed run checks them).
    public bool Equals(ClusterSettings? other) =>
        other is not null && Host == other.Host && Port == other.Port && DataPlanePort == other.DataPlanePort && Seeds.SequenceEqual(other.Seeds, StringComparer.Ordinal)
        && Secret == other.Secret && TlsCertificate == other.TlsCertificate && TlsKey == other.TlsKey && TlsCa == other.TlsCa
        && MinWorkers == other.MinWorkers && JoinTimeout == other.JoinTimeout && HeartbeatInterval == other.HeartbeatInterval
        && AcceptableHeartbeatPause == other.AcceptableHeartbeatPause && PhiThreshold.Equals(other.PhiThreshold)
        && DownUnreachableAfter == other.DownUnreachableAfter && ChunkSize == other.ChunkSize && TestFaults == other.TestFaults
        && RebuildFromWorkers == other.RebuildFromWorkers && RebuildWait == other.RebuildWait
        && GradientExchange == other.GradientExchange && GradientCompression == other.GradientCompression
        && AllReduceBucketSize == other.AllReduceBucketSize && TransferTimeout == other.TransferTimeout && OverlapBackward == other.OverlapBackward && DecoderGradientBlocks == other.DecoderGradientBlocks && BalanceStreams == other.BalanceStreams
        && SharedMemory == other.SharedMemory && SharedMemoryRingSize == other.SharedMemoryRingSize
        && Discovery.Equals(other.Discovery) && Management == other.Management;

    public override int GetHashCode() => HashCode.Combine(Host, Port, Seeds.Count, MinWorkers);
}

/// <summary>A seed's <c>host:port</c>, parsed once (IPv6 hosts in brackets).</summary>
public sealed record SeedAddress(string Host, int Port)
{
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SeedAddress? seed)
    {
        seed = null;
        var colon = text?.LastIndexOf(':') ?? -1;
        if (text is null || colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Length == 0 || host.Contains('/', StringComparison.Ordinal))
        {
            return false;
        }

        seed = new SeedAddress(host, port);
        return true;
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
