namespace RnnCluster.Training;

/// <summary>
/// An observer that also shows a sample of generated text after each validation of a language model (the
/// dashboard does). The trainer generates one only when <see cref="WantsSamples"/> says so, so a run
/// nobody watches pays nothing for it.
/// </summary>
public interface ITrainingSampleObserver : ITrainingObserver
{
    bool WantsSamples { get; }

    void OnSample(long step, string text);
}
