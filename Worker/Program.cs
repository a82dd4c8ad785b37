// rnncluster-worker joins a cluster run (issue: cluster remoting). Until remoting lands, every worker
// runs inside the coordinator process, and this executable says so instead of pretending to join.
using RnnCluster.Torch;

if (args is ["--version"])
{
    Console.WriteLine(TorchRuntime.BuildInfo);
    return 0;
}

Console.Error.WriteLine("rnncluster-worker: multi-process clusters are not available yet; use 'rnncluster train' (all actors in one process). Use --version to check the native bridge.");
return 2;
