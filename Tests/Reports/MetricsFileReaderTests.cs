using RnnCluster.Coordinator.Reports;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Reports;

public sealed class MetricsFileReaderTests
{
    [Fact]
    public void Train_and_evaluation_lines_are_read_with_nan_written_as_a_string()
    {
        using var dir = new TempDirectory();
        ScriptedRun.Write(dir.Path);
        var m = MetricsFileReader.Read(dir.Combine("metrics.jsonl"));

        Assert.Equal(40, m.Train.Count);
        Assert.True(double.IsNaN(m.Train.Single(p => p.Step == 17).Loss));
        Assert.Equal(0.5 / 3, m.Train.Single(p => p.Step == 3).LearningRate);
        Assert.Equal([10L, 20, 30, 40], m.Valid.Select(p => p.Step));
        Assert.Equal(ScriptedRun.ValidLoss(40), m.Valid[^1].Loss, 12);
        Assert.Equal(0.7, m.Valid[^1].Accuracy, 12);
        Assert.Equal(2.4, m.Test.Single().Loss, 12);
    }

    [Fact]
    public void A_step_logged_again_after_a_resume_keeps_its_later_line()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("metrics.jsonl", """
            {"kind":"train","step":1,"epoch":0,"loss":5}
            {"kind":"train","step":2,"epoch":0,"loss":4}
            {"kind":"train","step":2,"epoch":0,"loss":3.5}
            {"kind":"train","step":3,"epoch":0,"loss":"Infinity"}
            """);
        var m = MetricsFileReader.Read(path);
        Assert.Equal([5, 3.5, double.PositiveInfinity], m.Train.Select(p => p.Loss));
        Assert.True(double.IsNaN(m.Train[0].LearningRate)); // absent: not drawn
    }

    [Fact]
    public void Skip_rollback_and_failure_kinds_are_events_and_unknown_kinds_are_counted_and_ignored()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("metrics.jsonl", """
            {"kind":"train","step":1,"loss":5}
            {"kind":"skipped-step","step":2,"reason":"non-finite gradient"}
            {"kind":"Rollback","step":3,"toStep":1}
            {"kind":"checkpoint-failed","error":"disk full"}
            {"kind":"membership","members":3}
            {"kind":"membership","members":2}
            """);
        var m = MetricsFileReader.Read(path);
        Assert.Equal(["skipped-step", "Rollback", "checkpoint-failed"], m.Events.Select(e => e.Kind));
        Assert.Equal([2L, 3L, null], m.Events.Select(e => e.Step));
        Assert.Equal("reason=non-finite gradient", m.Events[0].Details);
        Assert.Equal(4, m.Events[2].Line);
        Assert.Equal(2, m.IgnoredKinds["membership"]);
    }

    [Theory]
    [InlineData("{\"kind\":\"train\",\"step\":1,\"loss\":5}\n{\"kind\":\"train\",\"step\":2,", ":2: not JSON at column 25 (Expected start of a property name or value, but instead reached end of data.)")]
    [InlineData("{\"kind\":\"train\",\"loss\":5}", ":1: a \"train\" line has no \"step\"")]
    [InlineData("{\"kind\":\"valid\",\"step\":4}", ":1: a \"valid\" line has no \"loss\"")]
    [InlineData("{\"kind\":\"train\",\"step\":1.5,\"loss\":5}", ":1: \"step\" is 1.5, not a step number")]
    [InlineData("{\"kind\":\"train\",\"step\":1,\"loss\":\"low\"}", ":1: \"loss\" is \"low\", not a number")]
    [InlineData("\n{\"step\":1,\"loss\":5}", ":2: no \"kind\"")]
    [InlineData("[1,2]", ":1: a JSON array, not an object")]
    [InlineData("{\"kind\":\"membership\"}", "no train, valid or test lines (kinds found: membership)")]
    [InlineData("\n \n", "the file is empty")]
    public void A_malformed_file_is_refused_naming_the_file_line_and_fault(string content, string expected)
    {
        using var dir = new TempDirectory();
        var path = dir.Write("metrics.jsonl", content);
        var e = Assert.Throws<ReportInputException>(() => MetricsFileReader.Read(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
