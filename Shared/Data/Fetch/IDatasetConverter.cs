namespace RnnCluster.Data.Fetch;

/// <summary>Turns an extracted package into our file formats under an output directory.</summary>
public interface IDatasetConverter
{
    /// <param name="packageDirectory">The extracted tarball's root (npm tarballs hold one folder, <c>package/</c>).</param>
    /// <param name="outputDirectory">An empty directory for train/valid/test files; the manifest is written by the caller.</param>
    DatasetConversion Convert(string packageDirectory, string outputDirectory, CancellationToken cancellationToken);
}
