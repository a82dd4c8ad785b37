namespace RnnCluster.Bench.ScalingModel;

/// <summary>The link between the nodes, and how long the coordinator holds each step (measured in a cluster run).</summary>
/// <param name="Gbit">Line rate each way; <see cref="double.PositiveInfinity"/> for loopback (then only the CPU costs count).</param>
/// <param name="LatencyUs">One-way latency of a message on the network, beyond our own software (NIC, switch, kernel).</param>
/// <param name="CoordinatorMs">The coordinator's part of a step's serial chain with 2 workers (broadcast + averaging + apply).</param>
/// <param name="DataPlaneCores">Cores a node's data plane may use at once (its N-1 connections are read on as many threads); 1 is what was measured.</param>
internal sealed record Link(double Gbit, double LatencyUs, double CoordinatorMs, int DataPlaneCores = 1);

/// <summary>A predicted step of N nodes.</summary>
internal sealed record Prediction(
    int Nodes, double BytesPerWorker, double CommunicationMs, double ExposedMs, double ControlMs, double CoordinatorFixedMs, double CoordinatorLinearMs, double LocalMs)
{
    /// <summary>Share of the all-reduce's time that ran while backward still computed.</summary>
    public double Hidden => CommunicationMs <= 0 ? 1 : Math.Clamp(1 - (ExposedMs / CommunicationMs), 0, 1);

    /// <summary>Coordinator time per step independent of N (the optimistic reading of its 2-worker figure).</summary>
    public double StepMs => LocalMs + ExposedMs + ControlMs + CoordinatorFixedMs;

    /// <summary>Coordinator time per step growing with N (all of its 2-worker figure taken as per-worker work: the pessimistic reading).</summary>
    public double StepLinearMs => LocalMs + ExposedMs + ControlMs + CoordinatorLinearMs;

    /// <summary>Tokens/s of N nodes ÷ (N × tokens/s of one replica alone), each node computing the same window size.</summary>
    public double Efficiency => LocalMs / StepMs;

    public double EfficiencyLinear => LocalMs / StepLinearMs;
}

/// <summary>
/// Predicts a cluster step from the measured compute profile and per-bucket costs (weak scaling: every
/// node computes the same window as the single replica it is compared with). What it models, in the
/// order the product does it (<c>WorkerReplica</c>):
/// <list type="bullet">
/// <item>each gradient segment is all-reduced from the moment its tap fires (the untapped ones, and in
/// dense mode the embedding, when backward returns), bucket by bucket, each bucket a reduce-scatter
/// then an all-gather among the N members (direct mesh: N-1 messages per member per phase; a bucket of
/// fewer than N floats, like the token count, has fewer owners and fewer messages);</item>
/// <item>from the start of forward: (untied, sparse mode) the 0/1 row marks over the vocabulary (the
/// inputs say which rows a step looks up), and the token count (the targets fix it);</item>
/// <item>after backward: (sparse mode) the rows any member looked up (<see cref="CorpusRows"/>);</item>
/// <item>one network carries it all, first come first served (a node's NIC; conservative: transfers do not
/// share it at once); a phase takes the longer of its wire time and its CPU (N-1 messages of a bucket's
/// shard, at the CPU per message measured here for that size), plus the network latency;</item>
/// <item>each step then needs the reply to the coordinator and its next command (two one-way hops of a small
/// message) and the coordinator's own part of the chain.</item>
/// </list>
/// It assumes a node has a core for its data plane beside its compute thread (as gloo's threads have;
/// <see cref="Link.DataPlaneCores"/> for more);
/// on this 2-core machine three processes share two, which the model does not describe.
/// </summary>
internal static class NodeModel
{
    public static Prediction Predict(ComputeProfile compute, IMessageCosts costs, Link link, int nodes, int bucketFloats, CorpusRows? sparseRows)
    {
        var n = nodes;
        // One bucket of m floats: the busiest member owns a shard. Of the k = min(m, N) non-empty shards it
        // sends its contributions to the other k - 1 owners and gets N - 1 for its own (reduce-scatter), then
        // sends its sum to the N - 1 others and gets the k - 1 other sums (all-gather): (k - 1) + (N - 1)
        // messages, each sent once and received once, at the CPU measured per message. k = N for any
        // bucket of N floats or more (2 (N - 1) messages); a count of 1 float has a single owner.
        double BucketMs(long floats)
        {
            var owners = Math.Min(floats, n);
            var messages = owners - 1 + (n - 1);
            var message = (double)costs.BytesPerFloat * Math.Max(floats / (double)n, 1);
            var wire = double.IsPositiveInfinity(link.Gbit) ? 0 : messages * message * 8 / (link.Gbit * 1e9) * 1e3;
            var cpu = messages * costs.MessageCpuMs(message) / Math.Min(link.DataPlaneCores, n - 1);
            return Math.Max(wire, cpu) + (2 * link.LatencyUs / 1e3);
        }

        double AllReduceMs(long floats)
        {
            if (n == 1 || floats == 0)
            {
                return 0;
            }

            var ms = 0.0;
            for (var left = floats; left > 0; left -= bucketFloats)
            {
                ms += BucketMs(Math.Min(left, bucketFloats));
            }

            return ms;
        }

        // Times relative to backward's return (0); a tapped segment is ready its lead earlier.
        var free = double.NegativeInfinity;
        var communication = 0.0;
        var floatsSent = 0.0;
        void Queue(double ready, long floats)
        {
            var ms = AllReduceMs(floats);
            free = Math.Max(ready, free) + ms;
            communication += ms;
            floatsSent += 2.0 * (n - 1) * floats / n;
        }

        if (sparseRows is not null)
        {
            Queue(-compute.ForwardBackwardMs, compute.Vocabulary); // the row marks, sent before forward
        }

        Queue(-compute.ForwardBackwardMs, 1); // the token count, sent before forward too

        foreach (var segment in compute.Segments.OrderBy(s => -s.LeadMs))
        {
            if (sparseRows is not null && segment.Name == "encoder")
            {
                continue;
            }

            Queue(-segment.LeadMs, segment.Floats);
        }

        if (sparseRows is not null)
        {
            // Rows any of the N windows looked up.
            Queue(0, (long)Math.Round(sparseRows.Touched(n)) * compute.EmbeddingWidth);
        }

        var exposed = n == 1 ? 0 : Math.Max(0, free);
        var hop = (costs.SmallWallMs / 2) + (link.LatencyUs / 1e3);
        return new Prediction(
            n, floatsSent * costs.BytesPerFloat, communication, exposed, 2 * hop, link.CoordinatorMs, link.CoordinatorMs * n / 2, compute.LocalMs);
    }
}
