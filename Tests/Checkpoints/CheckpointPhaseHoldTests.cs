using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Tests.Checkpoints;

public sealed class CheckpointPhaseHoldTests
{
    [Theory]
    [InlineData("started", CheckpointPhase.Started, null)]
    [InlineData("mid-tensor@30", CheckpointPhase.MidTensor, 30L)]
    [InlineData("renamed@7", CheckpointPhase.Renamed, 7L)]
    [InlineData("committed", CheckpointPhase.Committed, null)]
    [InlineData("pruning@120", CheckpointPhase.Pruning, 120L)]
    public void A_phase_with_an_optional_step_is_parsed(string text, CheckpointPhase phase, long? step)
    {
        var hold = CheckpointPhaseHold.Parse(text);

        Assert.Equal(new CheckpointPhaseHold(phase, step), hold);
        Assert.Equal(text.Split('@')[0], CheckpointPhaseHold.Name(phase));
        Assert.True(hold.Matches(phase, step ?? 1));
        Assert.False(hold.Matches(phase, (step ?? 1) + 1) && step is not null);
    }

    [Fact]
    public void An_unknown_phase_or_step_is_refused_naming_the_choices()
    {
        Assert.Equal("'halfway' is not a checkpoint phase (one of started, mid-tensor, renamed, committed, pruning)", Assert.Throws<FormatException>(() => CheckpointPhaseHold.Parse("halfway")).Message);
        Assert.Equal("'x' is not a step number (phase@step)", Assert.Throws<FormatException>(() => CheckpointPhaseHold.Parse("renamed@x")).Message);
    }
}
