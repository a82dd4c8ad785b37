namespace RnnCluster.DataPlane;

/// <summary>
/// Who a node is on the wire: its address (<c>rnn://system@host:port</c>) and incarnation, which
/// changes on every restart so a returning node is told apart from its previous life.
/// </summary>
public sealed record NodeIdentity(string Address, ulong Incarnation)
{
    public override string ToString() => $"{Address}#{Incarnation}";
}
