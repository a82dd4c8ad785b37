namespace RnnCluster.Tests.Support;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TestRunDirectory : IDisposable
{
    public TestRunDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rnncluster-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow CI machine: leave it to the temp cleaner rather than fail the test.
        }
    }
}
