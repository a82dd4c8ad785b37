using System.Security.Cryptography;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Parallel.Cluster.Wire;
using RnnCluster.Torch;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Parallel.Cluster;

/// <summary>How a worker process's part in the run ended, and the exit code that says it.</summary>
public sealed record WorkerExit(int Code, string Message, bool IsError);

/// <summary>
/// A worker process on Akka.Cluster: an actor system with the <c>worker</c> role (in a <see cref="ClusterNodeHost"/>) that joins the seeds,
/// a data plane of its own, and a <see cref="WorkerNode"/>. It ends when the run finishes (exit 0), when
/// the process is asked to stop (leaves the cluster, exit 0), or when the cluster downs it or it cannot
/// join within <c>cluster.join-timeout</c> (exit 1: its launcher starts a new incarnation, since a downed
/// actor system never rejoins).
/// </summary>
public static class WorkerHost
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;

    /// <summary>
    /// Downed by the cluster, or no coordinator for <c>cluster.join-timeout</c>: start this worker again
    /// (a new process is a new incarnation; a downed actor system never rejoins). Launchers restart on it.
    /// </summary>
    public const int ExitRestart = 3;

    /// <param name="started">Called once the node runs, with its address and incarnation (the executable prints it).</param>
    public static async Task<WorkerExit> RunAsync(
        RnnClusterSettings settings, ILoggerFactory loggerFactory, TimeProvider time, Action<Address, ulong>? started, CancellationToken cancellationToken, Akka.Configuration.Config? akkaOverrides = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var secret = NodeSetup.LoadSecret(settings.Cluster);
        var incarnation = NodeSetup.NewIncarnation(time);
        var node = await ClusterNodeHost.StartAsync(settings.Cluster, ClusterSystem.WorkerRole, loggerFactory, akkaOverrides, cancellationToken).ConfigureAwait(false);
        var system = node.System;
        TensorTransport? dataPlane = null;
        try
        {
            var self = AkkaCluster.Get(system).SelfAddress;
            await ClusterJoin.StartAsync(system, settings.Cluster, cancellationToken, node.Health).ConfigureAwait(false);
            dataPlane = new TensorTransport(DataPlaneOptions.For(settings.Cluster, new NodeIdentity(self.ToString(), incarnation)), secret, loggerFactory, time, RandomNumberGenerator.Create());
            await dataPlane.StartAsync(cancellationToken).ConfigureAwait(false);
            var outcome = new TaskCompletionSource<WorkerNodeOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            var options = new WorkerNodeOptions
            {
                Registration = new RegisterWorker { Node = self.ToString(), Incarnation = (long)incarnation, Device = settings.Runtime.Device, Threads = TorchRuntime.Threads, DataPlane = dataPlane.LocalEndPoint.ToString() },
                DataPlane = dataPlane,
                Runtime = settings.Runtime,
                LoggerFactory = loggerFactory,
                Time = time,
                Outcome = outcome,
                TestSendDelay = TestFaults.SendDelay(settings.Cluster),
                CoordinatorTimeout = settings.Cluster.JoinTimeout,
                Seeds = ClusterSystem.Seeds(settings.Cluster),
            };
            system.ActorOf(Props.Create(() => new WorkerNode(options)), "node");
            started?.Invoke(self, incarnation);
            var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
            var first = await Task.WhenAny(outcome.Task, system.WhenTerminated, cancelled).ConfigureAwait(false);
            if (first == outcome.Task)
            {
                return outcome.Task.Result switch
                {
                    RunEnded ended => new WorkerExit(ExitOk, $"the coordinator finished the run ({ended.Message}); exiting", false),
                    CoordinatorGone gone => new WorkerExit(ExitRestart, gone.Message, true),
                    var gaveUp => new WorkerExit(ExitFailure, gaveUp.Message, true),
                };
            }

            if (first == cancelled)
            {
                // The data plane first: the coordinator re-plans the moment its link closes, instead of
                // sending this node steps until the cluster has removed it.
                await dataPlane.StopAsync(CancellationToken.None).ConfigureAwait(false);
                // Then the host's stop: CoordinatedShutdown leaves the cluster (within its phases' timeouts) and terminates.
                await node.StopAsync().ConfigureAwait(false);
                return new WorkerExit(ExitOk, "left the cluster", false);
            }

            return new WorkerExit(ExitRestart, $"this node's actor system stopped: the cluster downed it (unreachable longer than the failure detector and split-brain resolver allow) or it could not join through {ClusterJoin.Describe(settings.Cluster)} within cluster.join-timeout = {settings.Cluster.JoinTimeout.TotalSeconds:0} s; a downed node cannot rejoin, so its launcher starts a new incarnation (exit 3)", true);
        }
        finally
        {
            if (dataPlane is not null)
            {
                await dataPlane.DisposeAsync().ConfigureAwait(false);
            }

            await node.DisposeAsync().ConfigureAwait(false);
        }
    }
}
