namespace RnnCluster.Actors;

/// <summary>
/// Where an actor system lives: <c>rnn://system</c> for a local system, <c>rnn://system@host:port</c>
/// once remoting gives it a network endpoint. Paths carry the address so that a remote
/// <see cref="IActorRef"/> can be added later without changing how paths are written or compared.
/// </summary>
public sealed record ActorAddress
{
    public const string Protocol = "rnn";

    public ActorAddress(string system, string? host = null, int? port = null)
    {
        ActorPath.ValidateSystemName(system);
        if ((host is null) != (port is null))
        {
            throw new ArgumentException("An address has both a host and a port, or neither.", nameof(host));
        }

        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A port is in 1..65535.");
        }

        System = system;
        Host = host;
        Port = port;
    }

    public string System { get; }

    public string? Host { get; }

    public int? Port { get; }

    public bool HasNetworkEndpoint => Host is not null;

    public override string ToString() =>
        Host is null ? $"{Protocol}://{System}" : $"{Protocol}://{System}@{Host}:{Port}";
}
