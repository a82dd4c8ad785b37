using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Training.Tasks;

/// <summary>
/// The training loop of an acceptor, transducer or encoder–decoder run, step by step, independent of who
/// computes gradients (the master itself, or worker actors computing slices of each batch's rows). An
/// epoch is one <see cref="BucketBatcher.Epoch"/> of the training split; each step is one batch, and the
/// caller leaves the gradient SUM over its targets in <see cref="Master"/>'s gradient buffer.
/// <para>
/// The data cursor is the batch index within the epoch plus the data generator's state at the epoch's
/// start: a resumed run rebuilds the same epoch order and goes on at the same batch. Validation runs at
/// every epoch end and every <c>training.eval-every-steps</c>; checkpoints carry the task's vocabularies.
/// Not thread-safe: one driver calls it.
/// </para>
/// </summary>
public sealed class TaskTrainingLoop : ITrainingLoop
{
    private readonly RnnClusterSettings _settings;
    private readonly TaskDataset _data;
    private readonly TaskVocabularies _vocabularies;
    private readonly string _runDirectory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITrainingObserver? _observer;
    private readonly TorchModel _model;
    private readonly Optimizer _optimizer;
    private readonly BucketBatcher _train;
    private readonly IReadOnlyList<SequenceBatch> _valid;
    private readonly IReadOnlyList<SequenceBatch> _test;
    private readonly LearningRateSchedule _schedule;
    private readonly CheckpointPipeline _checkpoints;
    private readonly string _configText;
    private readonly long _totalSteps;
    private SeededRandom _dataRandom;
    private ulong[] _epochStartState;
    private IReadOnlyList<SequenceBatch> _epochBatches = [];
    private TrainerProgress _progress;
    private MetricsLog? _metrics;
    private long _started;
    private string _stoppedBy = "epochs";
    private TaskStep? _open;
    private readonly StepApplier _steps;

    public TaskTrainingLoop(RnnClusterSettings settings, TaskDataset data, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(services);
        _settings = settings;
        _data = data;
        _vocabularies = new TaskVocabularies(data.Kind, data.SourceVocabulary, data.TargetVocabulary, data.Labels);
        _runDirectory = runDirectory;
        _time = services.Time;
        _logger = services.LoggerFactory.CreateLogger<TaskTrainingLoop>();
        _observer = services.Observer;
        _configText = settings.ToHocon();

        _train = new BucketBatcher(data.Train, TaskSetup.Batching(settings.Data, evaluation: false));
        _valid = new BucketBatcher(data.Valid, TaskSetup.Batching(settings.Data, evaluation: true)).Sequential();
        _test = new BucketBatcher(data.Test, TaskSetup.Batching(settings.Data, evaluation: true)).Sequential();
        var planned = (long)_train.BatchesPerEpoch * settings.Training.Epochs;
        _totalSteps = settings.Training.MaxSteps > 0 ? Math.Min(settings.Training.MaxSteps, planned) : planned;
        _schedule = new LearningRateSchedule(settings.Training, _totalSteps);
        MasterOptions = TaskSetup.Model(settings, data.Kind, data.SourceVocabulary.Count, data.OutputCount);
        _model = TaskSetup.Create(MasterOptions);
        _optimizer = new Optimizer(_model, TrainingSetup.Optimizer(settings.Training));
        _steps = new StepApplier(_model, _optimizer, _schedule, settings.Training, _time, _logger, _observer);
        _dataRandom = new SeededRandom(TrainingSetup.DataSeed(settings.Runtime));
        _epochStartState = _dataRandom.GetState();
        _progress = new TrainerProgress { PlateauRate = settings.Training.LearningRate };

        _checkpoints = CheckpointPipeline.Open(runDirectory, settings, services, _logger);
        if (resumeFrom is not null)
        {
            try
            {
                Resume(resumeFrom);
            }
            catch
            {
                // A refused checkpoint must not keep the run directory locked.
                _checkpoints.Dispose();
                throw;
            }
        }

        services.PrepareMaster?.Invoke(_model);
    }

    public TorchModel Master => _model;

    public TorchModelOptions MasterOptions { get; }

    public TaskDataset Data => _data;

    /// <summary>The largest batch: the rows a step's plan is made for.</summary>
    public int StreamCount => _train.BatchSize;

    public long Step => _progress.Step;

    /// <summary>The parameter shapes recorded in the manifest: the encoder's (the task's further sizes are in its vocab.json).</summary>
    public static ModelArchitecture Architecture(RnnClusterSettings settings, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var m = settings.Model;
        return new ModelArchitecture(m.Cell, m.Layers, m.EmbeddingSize, m.HiddenSize, vocabularySize, TieWeights: false);
    }

    public void Start()
    {
        _started = _time.GetTimestamp();
        var threads = TorchRuntime.Threads;
        TrainingLog.Started(_logger, _model.ParameterCount, MasterOptions.Device.ToString(), threads, _train.BatchSize, _train.Count, _train.BatchesPerEpoch);
        _observer?.OnStart(new TrainingStart(_model.ParameterCount, _data.SourceVocabulary.Count, string.Create(CultureInfo.InvariantCulture, $"{_train.Count:N0} examples in batches of {_train.BatchSize}"), _train.BatchesPerEpoch, _totalSteps, _progress.Step, _settings.Training.Epochs, CorpusTask.Tagging, MasterOptions.Device.ToString(), threads));
        _metrics = new MetricsLog(Path.Combine(_runDirectory, "metrics.jsonl"), append: _progress.Step > 0, _logger);
        _checkpoints.Metrics = _metrics;
        _steps.Start();
    }

    public async ValueTask<ITrainingStep?> NextStepAsync(CancellationToken cancellationToken)
    {
        if (_open is not null)
        {
            throw new InvalidOperationException("the previous step has not been completed");
        }

        // checkpoint.on-failure = stop: a commit that failed in the background ends the run before the next step.
        _checkpoints.ThrowIfStopped();

        while (_stoppedBy == "epochs")
        {
            if (_progress.Epoch >= _settings.Training.Epochs)
            {
                return null;
            }

            if (_steps.LimitReached(_progress.Step))
            {
                // A run resumed at (or past) its max-steps: it used to train one more step before the check.
                _stoppedBy = "max-steps";
                return null;
            }

            if (_epochBatches.Count == 0)
            {
                // The order of the epoch the cursor is in, from the generator's state at its start.
                _dataRandom = SeededRandom.FromState(_epochStartState);
                _epochBatches = _train.Epoch(_dataRandom);
            }

            if (_progress.Cursor >= _epochBatches.Count)
            {
                await EndEpochAsync().ConfigureAwait(false);
                continue;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                _stoppedBy = "interrupted";
                return null;
            }

            var index = (int)_progress.Cursor;
            _open = new TaskStep(_progress.Step + 1, _progress.Epoch, index, _epochBatches[index]);
            return _open;
        }

        return null;
    }

    public async ValueTask CompleteStepAsync(ITrainingStep step, double lossSum, long count)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (!ReferenceEquals(step, _open))
        {
            throw new InvalidOperationException("this step is not the open one");
        }

        _open = null;
        _progress.Cursor++;
        if (count == 0)
        {
            return;
        }

        var index = _progress.Cursor - 1;
        var data = new StepData(index, index + 1, string.Create(CultureInfo.InvariantCulture, $"batch {index} of the epoch's order"));
        var outcome = _steps.Apply(_progress, _metrics!, _started, lossSum, count, 1.0, (double)_progress.Cursor / Math.Max(1, _epochBatches.Count), data);
        if (outcome.RollBack)
        {
            var range = await Rollback.ToNewestCheckpointAsync(
                _checkpoints, _model, _optimizer, c => CheckpointCompatibility.EnsureCompatible(c.Manifest, Architecture(_settings, _data.SourceVocabulary.Count), TaskVocabularyFile.Hash(_vocabularies), c.Directory),
                _progress, outcome.Verdict, _steps, _logger, _metrics).ConfigureAwait(false);
            Rollbacks += range is null ? 0 : 1;
        }

        var number = outcome.Number;
        _stoppedBy = await _steps.AfterStepAsync(
            number, _settings.Checkpoint, endsEpoch: _progress.Cursor >= _epochBatches.Count, _stoppedBy,
            Validate, CheckpointAsync, () => _progress.LastValidLoss).ConfigureAwait(false);
    }

    public async Task<RunSummary> FinishAsync(StepTimeSplit? timings = null)
    {
        // With remote replicas the master learns the final parameters now.
        await _steps.EnsureCurrentAsync(_progress.Step).ConfigureAwait(false);
        // Training time ends here: the final validation and test evaluations are not training.
        var wall = _time.GetElapsedTime(_started).TotalSeconds;
        if (_stoppedBy == "interrupted")
        {
            TrainingLog.Interrupted(_logger, _progress.Step);
        }

        EvaluationResult? valid = null;
        if (_stoppedBy != "interrupted")
        {
            valid = _progress.LastValidStep == _progress.Step ? _progress.LastValid : Evaluate(_valid, "valid", CancellationToken.None);
        }

        if (_checkpoints.LastStep != _progress.Step)
        {
            await CheckpointAsync(valid?.Loss).ConfigureAwait(false);
        }

        await _checkpoints.DrainFinalAsync(_progress.Step).ConfigureAwait(false);
        var test = _stoppedBy == "interrupted" ? null : Evaluate(_test, "test", CancellationToken.None);
        var summary = new RunSummary
        {
            Corpus = _data.Source,
            Task = _data.Kind.ToName(),
            Steps = _progress.Step,
            // A run stopped (max-steps) right at an epoch's last batch has completed that epoch too.
            Epochs = _progress.Epoch + (_epochBatches.Count > 0 && _progress.Cursor >= _epochBatches.Count ? 1 : 0),
            TokensTrained = _progress.TokensSeen,
            TrainLoss = _progress.LastTrainLoss,
            ValidLoss = valid?.Loss,
            ValidPerplexity = valid?.Perplexity,
            ValidBitsPerToken = valid?.BitsPerToken,
            ValidAccuracy = valid?.Accuracy,
            ValidScores = Named(valid),
            TestLoss = test?.Loss,
            TestPerplexity = test?.Perplexity,
            TestBitsPerToken = test?.BitsPerToken,
            TestAccuracy = test?.Accuracy,
            TestScores = Named(test),
            TokensPerSecond = wall > 0 ? (_progress.TokensSeen - _progress.TokensAtStart) / wall : 0,
            WallSeconds = _progress.TrainSecondsBefore + wall,
            StoppedBy = _stoppedBy,
            LastCheckpoint = _checkpoints.LastCheckpoint,
            BestCheckpoint = _checkpoints.BestDirectory,
            CheckpointFailures = _checkpoints.Failures > 0 ? _checkpoints.Failures : null,
            StepTimeSplit = timings is { Steps: > 0 } ? timings.PerStepMilliseconds() : null,
        };
        await File.WriteAllTextAsync(Path.Combine(_runDirectory, "summary.json"), summary.ToJson(), CancellationToken.None).ConfigureAwait(false);
        return summary;
    }

    public void Dispose()
    {
        _checkpoints.Dispose();
        _metrics?.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }

    private static Dictionary<string, double>? Named(EvaluationResult? result) =>
        result?.Scores is { } scores && scores.Named() is { Count: > 0 } named ? named.ToDictionary(n => n.Name, n => n.Value) : null;

    private async Task EndEpochAsync()
    {
        _progress.Epoch++;
        _progress.Cursor = 0;
        _epochStartState = _dataRandom.GetState();
        _epochBatches = [];
        await _steps.EnsureCurrentAsync(_progress.Step).ConfigureAwait(false);
        var early = Validate();
        if (_checkpoints.LastStep != _progress.Step)
        {
            // (Equal after resuming from a checkpoint written at this very step: it exists already.)
            await CheckpointAsync(_progress.LastValidLoss).ConfigureAwait(false);
        }

        if (early)
        {
            _stoppedBy = "early-stop";
        }
    }

    /// <summary>Evaluates the validation split, updates best/plateau/patience; true when patience ran out.</summary>
    /// <remarks>
    /// Never cancelled by a stop request: a validation is bounded work, and one cut short would leave the
    /// step it belongs to half done (its best/plateau bookkeeping and the epoch end's checkpoint missing),
    /// so the run would fail instead of stopping, or resume different from the unstopped run. The stop is
    /// seen before the next step; a second Ctrl-C still ends the process at once.
    /// </remarks>
    private bool Validate()
    {
        var result = TaskEvaluator.Evaluate(_model, _valid, _settings.Model.BeamWidth, CancellationToken.None);
        return _progress.RecordValidation(result, _schedule, _settings.Training.Patience, _logger, _metrics, _observer);
    }

    private EvaluationResult Evaluate(IReadOnlyList<SequenceBatch> batches, string name, CancellationToken cancellationToken)
    {
        var result = TaskEvaluator.Evaluate(_model, batches, _settings.Model.BeamWidth, cancellationToken);
        var report = new EvaluationReport(_progress.Step, _progress.Epoch, name, result, Improved: false);
        _metrics?.Evaluation(report);
        _observer?.OnEvaluation(report);
        return result;
    }

    private async Task CheckpointAsync(double? validLoss)
    {
        await _checkpoints.DrainAsync().ConfigureAwait(false);
        var state = CurrentState();
        _checkpoints.Start(new CheckpointContent
        {
            Step = _progress.Step,
            Epoch = _progress.Epoch,
            Architecture = Architecture(_settings, _data.SourceVocabulary.Count),
            VocabularyJson = TaskVocabularyFile.ToJson(_vocabularies),
            VocabularyHash = TaskVocabularyFile.Hash(_vocabularies),
            ConfigText = _configText,
            ModelTensors = ModelTensors.ExportModel(_model),
            OptimizerTensors = ModelTensors.ExportOptimizer(_optimizer),
            State = state,
            ValidLoss = validLoss,
        });
    }

    private void Resume(string path)
    {
        var loaded = CheckpointReader.Load(path);
        CheckpointCompatibility.EnsureCompatible(loaded.Manifest, Architecture(_settings, _data.SourceVocabulary.Count), TaskVocabularyFile.Hash(_vocabularies), loaded.Directory);
        ModelTensors.ImportModel(_model, loaded.ModelTensors, Path.Combine(loaded.Directory, "model.safetensors"));
        ModelTensors.ImportOptimizer(_optimizer, loaded.OptimizerTensors, Path.Combine(loaded.Directory, "optimizer.safetensors"));
        Restore(loaded.TrainerState, loaded.Directory);
        _checkpoints.LastCheckpoint = loaded.Directory;
        TrainingLog.Resumed(_logger, loaded.Directory, loaded.TrainerState.Step, loaded.TrainerState.Epoch);
    }

    public long Fence => _checkpoints.Fence;

    public Parallel.RunSnapshot Snapshot(ReadOnlySpan<float> parameters) =>
        Parallel.RunSnapshot.Create(Fence, CurrentState(), ModelTensors.OptimizerState(_optimizer), _optimizer.StepCount, parameters);

    public Parallel.RunSnapshot TrainerSnapshot() => Parallel.RunSnapshot.Create(Fence, CurrentState(), [], 0, []);

    public void UseRemoteReplicas(RemoteReplicas remote) => _steps.UseRemote(remote, _progress.Step);

    public double LastLearningRate => _steps.LastLearningRate;

    /// <inheritdoc/>
    public bool LastStepSkipped => _steps.LastSkipped;

    /// <inheritdoc/>
    public int Rollbacks { get; private set; }

    public void Adopt(Parallel.RunSnapshot snapshot, ReadOnlySpan<float> parameters, string source)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ModelTensors.AdoptState(_model, _optimizer, snapshot, parameters, source);
        Restore(snapshot.ReadTrainerState(source), source);
    }

    private TrainerState CurrentState() =>
        _progress.ToState(_schedule, _epochStartState, _model.GetRandomState(), _time.GetElapsedTime(_started).TotalSeconds);

    /// <summary>The trainer state of a checkpoint or snapshot becomes the loop's (the tensors are in already).</summary>
    private void Restore(TrainerState s, string source)
    {
        _model.SetRandomState(Convert.FromBase64String(s.ModelRandomState));
        _epochStartState = [.. s.DataRandomState];
        if (s.Cursor > _train.BatchesPerEpoch)
        {
            throw new CheckpointException($"{source}/trainer.json: batch {s.Cursor} is past the end of an epoch ({_train.BatchesPerEpoch} batches); the data or data.batch-size differ from the run that wrote it");
        }

        _progress = TrainerProgress.FromState(s);
        _checkpoints.LastStep = s.Step;
    }
}
