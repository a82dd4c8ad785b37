namespace RnnCluster.Training;

/// <summary>Hands every report to several observers in order (the terminal view and the run monitor).</summary>
public sealed class CompositeTrainingObserver : ITrainingSampleObserver
{
    private readonly ITrainingObserver[] _observers;

    public CompositeTrainingObserver(params ITrainingObserver[] observers)
    {
        ArgumentNullException.ThrowIfNull(observers);
        _observers = observers;
    }

    public bool WantsSamples => _observers.Any(o => o is ITrainingSampleObserver { WantsSamples: true });

    public void OnStart(TrainingStart start)
    {
        foreach (var observer in _observers)
        {
            observer.OnStart(start);
        }
    }

    public void OnStep(StepReport step)
    {
        foreach (var observer in _observers)
        {
            observer.OnStep(step);
        }
    }

    public void OnEvaluation(EvaluationReport evaluation)
    {
        foreach (var observer in _observers)
        {
            observer.OnEvaluation(evaluation);
        }
    }

    public void OnCheckpoint(string directory, long step, bool isBest)
    {
        foreach (var observer in _observers)
        {
            observer.OnCheckpoint(directory, step, isBest);
        }
    }

    public void OnCheckpointFailed(long step, string directory, string error)
    {
        foreach (var observer in _observers)
        {
            observer.OnCheckpointFailed(step, directory, error);
        }
    }

    public void OnSample(long step, string text)
    {
        foreach (var observer in _observers)
        {
            if (observer is ITrainingSampleObserver { WantsSamples: true } sampler)
            {
                sampler.OnSample(step, text);
            }
        }
    }
}
