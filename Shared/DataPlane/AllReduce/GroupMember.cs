namespace RnnCluster.DataPlane.AllReduce;

/// <summary>One member of a <see cref="GradientGroup"/>: its rank (0 … size-1), who it proves to be on the data plane, and where its transport listens.</summary>
public sealed record GroupMember(int Rank, NodeIdentity Identity, DataPlaneEndPoint EndPoint);
