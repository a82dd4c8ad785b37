using System.Diagnostics;
using System.Globalization;
using RnnCluster.Actors;
using RnnCluster.Bench.Actors;

// Measures message throughput of the actor runtime. Not a test: numbers depend on the machine.
//   dotnet run -c Release --project bench/Actors/ActorBench.csproj [-- rounds]
// ping-pong: 1,000 balls x 1,000 hops between two actors (every hop is a mailbox delivery).
// fan-in:    8 producer threads x 250,000 messages into one actor.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
Console.WriteLine($"actor runtime benchmark: {Environment.ProcessorCount} cores, {rounds} rounds (first is warm-up)");
for (var round = 1; round <= rounds; round++)
{
    var pingPong = await PingPongAsync(balls: 1_000, hops: 1_000);
    var fanIn = await FanInAsync(producers: 8, perProducer: 250_000);
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"round {round}: ping-pong {pingPong,12:N0} msg/s   fan-in {fanIn,12:N0} msg/s"));
}

static async Task<double> PingPongAsync(int balls, int hops)
{
    var system = ActorSystem.Create("bench");
    var finish = new Finish(balls);
    var ping = system.ActorOf(Props.Create(() => new Player(finish)), "ping");
    var pong = system.ActorOf(Props.Create(() => new Player(finish)), "pong");
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < balls; i++)
    {
        pong.Tell(new Ball(hops), ping);
    }

    await finish.Done.Task.WaitAsync(TimeSpan.FromMinutes(2));
    clock.Stop();
    await system.Terminate();
    return (double)balls * hops / clock.Elapsed.TotalSeconds;
}

static async Task<double> FanInAsync(int producers, int perProducer)
{
    var system = ActorSystem.Create("bench");
    var total = (long)producers * perProducer;
    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var sink = system.ActorOf(Props.Create(() => new Sink(done, total)), "sink");
    var clock = Stopwatch.StartNew();
    var threads = Enumerable.Range(0, producers).Select(_ => Task.Run(() =>
    {
        for (var i = 0; i < perProducer; i++)
        {
            sink.Tell(i, null);
        }
    })).ToArray();
    await Task.WhenAll(threads);
    await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
    clock.Stop();
    await system.Terminate();
    return total / clock.Elapsed.TotalSeconds;
}
