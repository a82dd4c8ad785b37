using RnnCluster.Coordinator.Reports;

namespace RnnCluster.Tests.Reports;

public sealed class RunLabelsTests
{
    [Fact]
    public void Runs_are_named_by_their_directory_and_only_clashing_names_take_their_parent()
    {
        Assert.Equal(["a/run", "b/run", "other"], RunLabels.For(["/x/a/run", "/x/b/run", "/x/c/other"]));
    }

    [Fact]
    public void The_same_directory_twice_is_numbered()
    {
        Assert.Equal(["run", "run (2)"], RunLabels.For(["/x/run", "/x/run"]));
    }
}
