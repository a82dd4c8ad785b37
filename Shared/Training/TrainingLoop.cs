using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Training;

/// <summary>
/// The training loop of one run, step by step, independent of who computes gradients: it plans each
/// TBPTT window of the global batch, and applies the gradient the caller left (as a SUM over the
/// window's targets) in <see cref="Master"/>'s gradient buffer. The single-replica trainer computes it
/// with the master model itself; the coordinator actor has worker actors compute slices of it.
///
/// <code>
///   streams  b=0    b=1   ...  b=B-1          window k = rows [cursor, cursor+T)
///   t=0     [ x0  | xL   | ... ]               state[b] carried from window k-1
///   t=1     [ x1  | xL+1 | ... ]   --&gt; T x B ids --&gt; loss, grads, state'[b]
///   ...
/// </code>
/// Everything that influences a later step — parameters, optimizer state, both generators, the
/// cursor, the streams' states, schedule state — is in each checkpoint, so a resumed run repeats
/// the uninterrupted one step for step on CPU. Not thread-safe: one driver calls it.
/// </summary>
public sealed class TrainingLoop : ITrainingLoop
{
    private readonly RnnClusterSettings _settings;
    private readonly Corpus _corpus;
    private readonly string _runDirectory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITrainingObserver? _observer;
    private readonly RnnModel _model;
    private readonly Optimizer _optimizer;
    private readonly BatchedStreams _train;
    private readonly WindowPlanner _planner;
    private readonly LearningRateSchedule _schedule;
    private readonly CheckpointPipeline _checkpoints;
    private readonly string _configText;
    private readonly long _stepsPerEpoch;
    private readonly long _totalSteps;
    private readonly long[] _inputs;
    private readonly long[] _targets;
    private SeededRandom _dataRandom;
    private float[] _state;
    private float[] _next;
    private TrainerProgress _progress;
    private MetricsLog? _metrics;
    private long _started;
    private string _stoppedBy = "epochs";
    private TrainingWindow? _open;
    private readonly StepApplier _steps;

    public TrainingLoop(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(services);
        _settings = settings;
        _corpus = corpus;
        _runDirectory = runDirectory;
        _time = services.Time;
        _logger = services.LoggerFactory.CreateLogger<TrainingLoop>();
        _observer = services.Observer;
        _configText = settings.ToHocon();

        _train = BatchedStreams.Batchify(corpus.Train, settings.Data.BatchSize);
        _planner = new WindowPlanner(settings.Data.Bptt, settings.Data.RandomBptt);
        _stepsPerEpoch = (_train.Length + settings.Data.Bptt - 1) / settings.Data.Bptt;
        var planned = _stepsPerEpoch * settings.Training.Epochs;
        _totalSteps = settings.Training.MaxSteps > 0 ? Math.Min(settings.Training.MaxSteps, planned) : planned;
        _schedule = new LearningRateSchedule(settings.Training, _totalSteps);
        _model = new RnnModel(TrainingSetup.Model(settings, corpus.Vocabulary.Count));
        _optimizer = new Optimizer(_model, TrainingSetup.Optimizer(settings.Training));
        _steps = new StepApplier(_model, _optimizer, _schedule, settings.Training, _time, _logger, _observer);
        _state = new float[_train.StreamCount * _model.StateSizePerStream];
        _next = new float[_state.Length];
        _inputs = new long[_planner.MaxLength * _train.StreamCount];
        _targets = new long[_inputs.Length];
        _dataRandom = new SeededRandom(TrainingSetup.DataSeed(settings.Runtime));
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

    /// <summary>The master model: its parameters are the run's, its gradient buffer receives each step's gradient sum.</summary>
    public RnnModel Master => _model;

    TorchModel ITrainingLoop.Master => _model;

    TorchModelOptions ITrainingLoop.MasterOptions => _model.Options;

    /// <summary>The corpus being trained on.</summary>
    public Corpus Corpus => _corpus;

    /// <summary>Number of parallel streams in the global batch.</summary>
    public int StreamCount => _train.StreamCount;

    /// <summary>Optimizer steps taken so far.</summary>
    public long Step => _progress.Step;

    /// <summary>Training targets consumed by applied steps since the run began (across resumes).</summary>
    public long TokensSeen => _progress.TokensSeen;

    private long TokensThisSession => _progress.TokensSeen - _progress.TokensAtStart;

    /// <summary>Announces the run to the observer and opens metrics.jsonl. Call once before the first window.</summary>
    public void Start()
    {
        _started = _time.GetTimestamp();
        var threads = TorchRuntime.Threads;
        TrainingLog.Started(_logger, _model.ParameterCount, _model.Options.Device.ToString(), threads, _train.StreamCount, _train.Length, _stepsPerEpoch);
        _observer?.OnStart(new TrainingStart(_model.ParameterCount, _corpus.Vocabulary.Count, string.Create(CultureInfo.InvariantCulture, $"{_train.StreamCount} streams x {_train.Length} steps"), _stepsPerEpoch, _totalSteps, _progress.Step, _settings.Training.Epochs, _corpus.Task, _model.Options.Device.ToString(), threads));
        _metrics = new MetricsLog(Path.Combine(_runDirectory, "metrics.jsonl"), append: _progress.Step > 0, _logger);
        _checkpoints.Metrics = _metrics;
        _steps.Start();
    }

    /// <summary>
    /// The next window of every stream, or null when the run is over (epochs done, max-steps, early
    /// stop, or cancellation). Crossing an epoch end validates and checkpoints first. The window's
    /// buffers stay valid until <see cref="CompleteStepAsync"/>.
    /// </summary>
    public async ValueTask<TrainingWindow?> NextWindowAsync(CancellationToken cancellationToken)
    {
        if (_open is not null)
        {
            throw new InvalidOperationException("the previous window has not been completed");
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

            if (_progress.Cursor >= _train.Length)
            {
                await EndEpochAsync().ConfigureAwait(false);
                continue;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                _stoppedBy = "interrupted";
                return null;
            }

            var length = _planner.NextLength(_dataRandom, _train.Length - (int)_progress.Cursor);
            var n = length * _train.StreamCount;
            _train.CopyWindow((int)_progress.Cursor, length, 0, _train.StreamCount, _inputs.AsSpan(0, n), _targets.AsSpan(0, n));
            _open = new TrainingWindow(_progress.Step + 1, _progress.Epoch, (int)_progress.Cursor, length, _train.StreamCount, _model.StateSizePerStream, _inputs, _targets, _state, _next);
            return _open;
        }

        return null;
    }

    async ValueTask<ITrainingStep?> ITrainingLoop.NextStepAsync(CancellationToken cancellationToken) =>
        await NextWindowAsync(cancellationToken).ConfigureAwait(false);

    ValueTask ITrainingLoop.CompleteStepAsync(ITrainingStep step, double lossSum, long count) =>
        CompleteStepAsync((TrainingWindow)step, lossSum, count);

    /// <summary>
    /// Applies the step of <paramref name="window"/>: the master's gradient buffer holds the SUM of
    /// gradients over <paramref name="tokens"/> targets, and the window's next-state buffer holds every
    /// stream's final state. Averages, clips, steps (a non-finite norm skips the update and is logged),
    /// then logs, evaluates and checkpoints as configured.
    /// </summary>
    public async ValueTask CompleteStepAsync(TrainingWindow window, double lossSum, long tokens)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (!ReferenceEquals(window, _open))
        {
            throw new InvalidOperationException("this window is not the open one");
        }

        _open = null;
        (_state, _next) = (_next, _state);
        _progress.Cursor += window.Length;
        if (tokens == 0)
        {
            return;
        }

        var data = new StepData(window.Start, window.Start + window.Length, string.Create(CultureInfo.InvariantCulture, $"rows [{window.Start}, {window.Start + window.Length}) of streams 0-{window.Streams - 1}"));
        var outcome = _steps.Apply(_progress, _metrics!, _started, lossSum, tokens, _planner.LearningRateScale(window.Length), (double)_progress.Cursor / _train.Length, data);
        if (!outcome.Applied)
        {
            ClearNonFiniteStates();
        }

        if (outcome.RollBack)
        {
            await RollBackAsync(outcome.Verdict).ConfigureAwait(false);
        }

        var step = outcome.Number;
        _stoppedBy = await _steps.AfterStepAsync(
            step, _settings.Checkpoint, endsEpoch: _progress.Cursor >= _train.Length, _stoppedBy,
            Validate, CheckpointAsync, () => _progress.LastValidLoss).ConfigureAwait(false);
    }

    /// <summary>Final validation, test evaluation, final checkpoint (also after an interruption) and summary.json.</summary>
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
            // Reuse a validation already made at this very step (epoch end or eval-every-steps).
            valid = _progress.LastValidStep == _progress.Step
                ? _progress.LastValid
                : Evaluate(_corpus.Valid, "valid", CancellationToken.None);
        }

        // The final checkpoint: also on Ctrl-C, so nothing trained is lost.
        if (_checkpoints.LastStep != _progress.Step)
        {
            await CheckpointAsync(valid?.Loss).ConfigureAwait(false);
        }

        await _checkpoints.DrainFinalAsync(_progress.Step).ConfigureAwait(false);
        var test = _stoppedBy == "interrupted" ? null : Evaluate(_corpus.Test, "test", CancellationToken.None);
        var summary = new RunSummary
        {
            Corpus = _corpus.Source,
            Task = _corpus.Task == CorpusTask.Tagging ? "tagging" : "language-model",
            Steps = _progress.Step,
            // A run stopped (max-steps) right at an epoch's last window has completed that epoch too.
            Epochs = _progress.Epoch + (_progress.Cursor >= _train.Length ? 1 : 0),
            TokensTrained = _progress.TokensSeen,
            TrainLoss = _progress.LastTrainLoss,
            ValidLoss = valid?.Loss,
            ValidPerplexity = valid?.Perplexity,
            ValidBitsPerToken = valid?.BitsPerToken,
            ValidAccuracy = valid?.Accuracy,
            TestLoss = test?.Loss,
            TestPerplexity = test?.Perplexity,
            TestBitsPerToken = test?.BitsPerToken,
            TestAccuracy = test?.Accuracy,
            TokensPerSecond = wall > 0 ? TokensThisSession / wall : 0,
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

    private async Task EndEpochAsync()
    {
        // Epoch end: streams restart from zeros (as word_language_model re-initialises hidden per epoch).
        _progress.Epoch++;
        _progress.Cursor = 0;
        Array.Clear(_state);
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
        var result = Evaluator.Evaluate(_model, _corpus.Valid, _settings.Data.EvalBatchSize, _settings.Data.Bptt, CancellationToken.None);
        var early = _progress.RecordValidation(result, _schedule, _settings.Training.Patience, _logger, _metrics, _observer);
        SampleForObserver();
        return early;
    }

    /// <summary>
    /// A few tokens generated after a validation, for an observer that shows them (the dashboard). Seeded by
    /// the step, so a run shows the same samples every time; nothing is generated when no observer wants them.
    /// Generation runs without dropout and on its own generator: training is not changed by it.
    /// </summary>
    private void SampleForObserver()
    {
        if (_observer is not ITrainingSampleObserver { WantsSamples: true } sampler || _corpus.Task != CorpusTask.LanguageModel)
        {
            return;
        }

        var ids = TextGenerator.Generate(_model, _corpus.Vocabulary, string.Empty, new GenerationOptions { Length = 30, Temperature = 0.8, Seed = unchecked((ulong)_progress.Step) + 1 });
        sampler.OnSample(_progress.Step, Tokenizer.Decode([.. ids], _corpus.Vocabulary).Trim());
    }

    private EvaluationResult Evaluate(TokenSplit split, string name, CancellationToken cancellationToken)
    {
        var result = Evaluator.Evaluate(_model, split, _settings.Data.EvalBatchSize, _settings.Data.Bptt, cancellationToken);
        var report = new EvaluationReport(_progress.Step, _progress.Epoch, name, result, Improved: false);
        _metrics?.Evaluation(report);
        _observer?.OnEvaluation(report);
        return result;
    }

    /// <summary>
    /// Copies everything on the training thread (the only pause training takes), then commits in the
    /// background; the previous commit is awaited first so commits never overlap.
    /// </summary>
    private async Task CheckpointAsync(double? validLoss)
    {
        await _checkpoints.DrainAsync().ConfigureAwait(false);
        var state = CurrentState();
        var content = new CheckpointContent
        {
            Step = _progress.Step,
            Epoch = _progress.Epoch,
            Architecture = _model.Architecture,
            VocabularyJson = _corpus.Vocabulary.ToJson(),
            VocabularyHash = _corpus.Vocabulary.Hash,
            ConfigText = _configText,
            ModelTensors = ModelTensors.ExportModel(_model),
            OptimizerTensors = ModelTensors.ExportOptimizer(_optimizer),
            State = state,
            ValidLoss = validLoss,
        };
        _checkpoints.Start(content);
    }

    /// <summary>
    /// After a skipped window: a stream whose state came out NaN or infinite starts the next window from
    /// zeros (as at an epoch start) rather than carry the poison into every later window.
    /// </summary>
    private void ClearNonFiniteStates()
    {
        var size = _model.StateSizePerStream;
        for (var stream = 0; stream < _train.StreamCount; stream++)
        {
            var state = _state.AsSpan(stream * size, size);
            foreach (var value in state)
            {
                if (!float.IsFinite(value))
                {
                    state.Clear();
                    break;
                }
            }
        }
    }

    /// <summary>Rolls back to the newest checkpoint (<see cref="Rollback"/>); the streams restart from zeros past the skipped range.</summary>
    private async Task RollBackAsync(StepVerdict verdict)
    {
        var range = await Rollback.ToNewestCheckpointAsync(
            _checkpoints, _model, _optimizer, c => CheckpointCompatibility.EnsureCompatible(c.Manifest, _model.Architecture, _corpus.Vocabulary.Hash, c.Directory),
            _progress, verdict, _steps, _logger, _metrics).ConfigureAwait(false);
        if (range is not null)
        {
            Array.Clear(_state);
            Rollbacks++;
        }
    }

    /// <inheritdoc/>
    public int Rollbacks { get; private set; }

    /// <inheritdoc/>
    public bool LastStepSkipped => _steps.LastSkipped;

    private void Resume(string path)
    {
        var loaded = CheckpointReader.Load(path);
        CheckpointCompatibility.EnsureCompatible(loaded.Manifest, _model.Architecture, _corpus.Vocabulary.Hash, loaded.Directory);
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

    public void Adopt(Parallel.RunSnapshot snapshot, ReadOnlySpan<float> parameters, string source)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ModelTensors.AdoptState(_model, _optimizer, snapshot, parameters, source);
        Restore(snapshot.ReadTrainerState(source), source);
    }

    private TrainerState CurrentState() =>
        _progress.ToState(_schedule, _dataRandom.GetState(), _model.GetRandomState(), _time.GetElapsedTime(_started).TotalSeconds, MemoryMarshal.AsBytes(_state.AsSpan()).ToArray());

    /// <summary>The trainer state of a checkpoint or snapshot becomes the loop's (the tensors are in already).</summary>
    private void Restore(TrainerState s, string source)
    {
        _model.SetRandomState(Convert.FromBase64String(s.ModelRandomState));
        _dataRandom = SeededRandom.FromState(s.DataRandomState);
        if (s.StreamState is { } bytes)
        {
            if (bytes.Length != _state.Length * sizeof(float))
            {
                throw new CheckpointException($"{source}/trainer.json: stream state has {bytes.Length / sizeof(float)} values, expected {_state.Length} (was data.batch-size changed?)");
            }

            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(_state);
        }

        if (s.Cursor > _train.Length)
        {
            throw new CheckpointException($"{source}/trainer.json: cursor {s.Cursor} is past the end of the training streams ({_train.Length}); the data or data.batch-size differ from the run that wrote it");
        }

        _progress = TrainerProgress.FromState(s);
        _checkpoints.LastStep = s.Step;
    }
}
