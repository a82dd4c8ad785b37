using RnnCluster.Config;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void Plateau_divides_by_four_only_when_validation_did_not_improve()
    {
        var schedule = new LearningRateSchedule(new TrainingSettings { LearningRate = 20, Schedule = ScheduleKind.Plateau, PlateauFactor = 0.25 }, 100);
        Assert.Equal(20, schedule.AfterEvaluation(20, improved: true));
        Assert.Equal(5, schedule.AfterEvaluation(20, improved: false));
        Assert.Equal(5, schedule.RateAt(50, 5));
    }

    [Fact]
    public void Plateau_stops_decaying_when_a_decay_would_change_the_rate_by_less_than_the_minimum()
    {
        // min-learning-rate = 0: without the guard, thousands of plateaus drive the rate toward zero.
        var schedule = new LearningRateSchedule(new TrainingSettings { LearningRate = 1, Schedule = ScheduleKind.Plateau, PlateauFactor = 0.25, MinLearningRate = 0 }, 100);
        var rate = 1.0;
        for (var plateau = 0; plateau < 1000; plateau++)
        {
            rate = schedule.AfterEvaluation(rate, improved: false);
        }

        // It stops at the first rate r with r - r/4 <= 1e-8, which lies in (1e-8 / 3, 1e-8 / 0.75].
        Assert.InRange(rate, LearningRateSchedule.MinimumDecay / 3, LearningRateSchedule.MinimumDecay / 0.75);
        Assert.Equal(rate, schedule.AfterEvaluation(rate, improved: false));
    }

    [Fact]
    public void Constant_ignores_plateaus()
    {
        var schedule = new LearningRateSchedule(new TrainingSettings { LearningRate = 3, Schedule = ScheduleKind.Constant }, 100);
        Assert.Equal(3, schedule.AfterEvaluation(3, improved: false));
        Assert.Equal(3, schedule.RateAt(99, 3));
    }

    [Fact]
    public void Cosine_warms_up_linearly_then_anneals_to_the_minimum()
    {
        var settings = new TrainingSettings { LearningRate = 1.0, Schedule = ScheduleKind.Cosine, WarmupSteps = 10, MinLearningRate = 0.1 };
        var schedule = new LearningRateSchedule(settings, 110);
        Assert.Equal(0.1, schedule.RateAt(1, 1.0), 12);
        Assert.Equal(0.5, schedule.RateAt(5, 1.0), 12);
        Assert.Equal(1.0, schedule.RateAt(10, 1.0), 12);
        Assert.Equal(0.55, schedule.RateAt(60, 1.0), 12); // half way: min + (max - min) / 2
        Assert.Equal(0.1, schedule.RateAt(110, 1.0), 12);
        Assert.Equal(0.1, schedule.RateAt(500, 1.0), 12);
    }
}
