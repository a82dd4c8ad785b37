namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// What a tensor holds. The data plane carries the number unchanged and requires only that it is not 0
/// (what an unset header field reads as); values beyond the named ones are the application's own.
/// </summary>
public enum TensorKind
{
    Parameters = 1,
    Gradients = 2,

    /// <summary>Recurrent stream states (the hidden and cell states carried across windows).</summary>
    States = 3,

    /// <summary>All-reduce: a dialling member names its run, generation and rank (no floats).</summary>
    AllReduceHello = 4,

    /// <summary>All-reduce: the dialled member's group took the hello (no floats).</summary>
    AllReduceWelcome = 5,

    /// <summary>All-reduce: one member's part of a bucket, for the rank that owns that part.</summary>
    AllReduceContribution = 6,

    /// <summary>All-reduce: the owner's rank-order sum of its part of a bucket, for every other member.</summary>
    AllReduceSum = 7,

    /// <summary>All-gather: one member's small vector, for every other member.</summary>
    AllGather = 8,
}
