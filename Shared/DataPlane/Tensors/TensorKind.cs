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
}
