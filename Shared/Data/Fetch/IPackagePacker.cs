namespace RnnCluster.Data.Fetch;

/// <summary>
/// Obtains a package tarball. The real one runs <c>npm pack</c>; tests substitute a double that packs a
/// local folder, so fetching is tested end to end without the network.
/// </summary>
public interface IPackagePacker
{
    /// <summary>Writes the tarball of <paramref name="packageSpec"/> (<c>name@version</c>, or a folder path) into <paramref name="destinationDirectory"/>; returns its path.</summary>
    Task<string> PackAsync(string packageSpec, string destinationDirectory, CancellationToken cancellationToken);
}
