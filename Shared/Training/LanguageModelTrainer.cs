using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>
/// Single-node truncated-BPTT trainer. The training split is batchified into B streams; every step
/// takes the next window of all streams, runs forward/backward from each stream's carried state
/// (detached at the window boundary by construction: the state crosses as plain numbers), averages
/// the gradient over the window's targets, clips, and steps the optimizer.
///
/// <code>
///   streams  b=0    b=1   ...  b=B-1          window k = rows [cursor, cursor+T)
///   t=0     [ x0  | xL   | ... ]               state[b] carried from window k-1
///   t=1     [ x1  | xL+1 | ... ]   --&gt; T x B ids --&gt; loss, grads, state'[b]
///   ...
/// </code>
/// Everything that influences a later step — parameters, optimizer state, both generators, the
/// cursor, the streams' states, schedule state — is in each checkpoint, so a resumed run repeats
/// the uninterrupted one step for step on CPU.
/// </summary>
public sealed class LanguageModelTrainer : IDisposable
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
    private readonly CheckpointStore _store;
    private readonly string _configText;
    private readonly long _stepsPerEpoch;
    private readonly long _totalSteps;
    private SeededRandom _dataRandom;
    private float[] _state;
    private TrainerProgress _progress;
    private Task? _pendingCheckpoint;
    private string? _lastCheckpoint;
    private long _lastCheckpointStep = -1;

    public LanguageModelTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(services);
        _settings = settings;
        _corpus = corpus;
        _runDirectory = runDirectory;
        _time = services.Time;
        _logger = services.LoggerFactory.CreateLogger<LanguageModelTrainer>();
        _observer = services.Observer;
        _configText = settings.ToHocon();

        TorchRuntime.Threads = TrainingSetup.Threads(settings.Runtime);
        _train = BatchedStreams.Batchify(corpus.Train, settings.Data.BatchSize);
        _planner = new WindowPlanner(settings.Data.Bptt, settings.Data.RandomBptt);
        _stepsPerEpoch = (_train.Length + settings.Data.Bptt - 1) / settings.Data.Bptt;
        var planned = _stepsPerEpoch * settings.Training.Epochs;
        _totalSteps = settings.Training.MaxSteps > 0 ? Math.Min(settings.Training.MaxSteps, planned) : planned;
        _schedule = new LearningRateSchedule(settings.Training, _totalSteps);
        _model = new RnnModel(TrainingSetup.Model(settings, corpus.Vocabulary.Count));
        _optimizer = new Optimizer(_model, TrainingSetup.Optimizer(settings.Training));
        _state = new float[_train.StreamCount * _model.StateSizePerStream];
        _dataRandom = new SeededRandom(TrainingSetup.DataSeed(settings.Runtime));
        _progress = new TrainerProgress { PlateauRate = settings.Training.LearningRate };

        Directory.CreateDirectory(runDirectory);
        _store = CheckpointStore.Open(
            runDirectory,
            new CheckpointStoreOptions { KeepLast = settings.Checkpoint.KeepLast, KeepBest = settings.Checkpoint.KeepBest },
            _time,
            services.LoggerFactory.CreateLogger<CheckpointStore>());
        if (resumeFrom is not null)
        {
            Resume(resumeFrom);
        }
    }

    private long TokensThisSession => _progress.TokensSeen - _progress.TokensAtStart;

    /// <summary>The model being trained (for evaluation and sampling after the run).</summary>
    public RnnModel Model => _model;

    /// <summary>Trains until the epochs or max-steps are done, early stop, or cancellation (then checkpoints and returns).</summary>
    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        var training = _settings.Training;
        var started = _time.GetTimestamp();
        var threads = TorchRuntime.Threads;
        TrainingLog.Started(_logger, _model.ParameterCount, _model.Options.Device.ToString(), threads, _train.StreamCount, _train.Length, _stepsPerEpoch);
        _observer?.OnStart(new TrainingStart(_model.ParameterCount, _corpus.Vocabulary.Count, _train.StreamCount, _train.Length, _stepsPerEpoch, _totalSteps, _progress.Step, training.Epochs, _corpus.Task, _model.Options.Device.ToString(), threads));

        using var metrics = new MetricsLog(Path.Combine(_runDirectory, "metrics.jsonl"), append: _progress.Step > 0);
        var b = _train.StreamCount;
        var inputs = new long[_planner.MaxLength * b];
        var targets = new long[inputs.Length];
        var next = new float[_state.Length];
        var interval = new IntervalStats(_time.GetTimestamp());
        var stoppedBy = "epochs";
        var evaluatedAtEnd = false;

        while (_progress.Epoch < training.Epochs && stoppedBy == "epochs")
        {
            while (_progress.Cursor < _train.Length)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    stoppedBy = "interrupted";
                    break;
                }

                var length = _planner.NextLength(_dataRandom, _train.Length - (int)_progress.Cursor);
                var n = length * b;
                _train.CopyWindow((int)_progress.Cursor, length, 0, b, inputs.AsSpan(0, n), targets.AsSpan(0, n));
                _model.ZeroGradients();
                var r = _model.ForwardBackward<float>(inputs.AsSpan(0, n), targets.AsSpan(0, n), length, b, _state, next, train: true, backward: true);
                (_state, next) = (next, _state);
                _progress.Cursor += length;
                if (r.Tokens == 0)
                {
                    continue;
                }

                _model.ScaleGradients(1.0 / r.Tokens);
                var norm = _model.ClipGradientNorm(training.ClipNorm);
                var step = _progress.Step + 1;
                var lr = _schedule.RateAt(step, _progress.PlateauRate) * _planner.LearningRateScale(length);
                var applied = double.IsFinite(norm);
                if (applied)
                {
                    _optimizer.Step(_model, lr);
                }
                else
                {
                    TrainingLog.NonFiniteGradient(_logger, step, norm);
                }

                _progress.Step = step;
                _progress.TokensSeen += r.Tokens;
                _progress.LastTrainLoss = r.LossSum / r.Tokens;
                interval.Add(r.LossSum, r.Tokens, norm);
                var elapsed = _time.GetElapsedTime(started).TotalSeconds;
                var tokensPerSecond = interval.TokensPerSecond(_time);
                _observer?.OnStep(new StepReport(step, _progress.Epoch, r.LossSum / r.Tokens, lr, norm, r.Tokens, tokensPerSecond, (double)_progress.Cursor / _train.Length, applied));
                if (step % training.LogEverySteps == 0)
                {
                    metrics.Train(step, _progress.Epoch, interval.MeanLoss, lr, interval.MeanNorm, tokensPerSecond, _progress.TrainSecondsBefore + elapsed);
                    interval = new IntervalStats(_time.GetTimestamp());
                }

                var evaluated = false;
                if (training.EvalEverySteps > 0 && step % training.EvalEverySteps == 0)
                {
                    if (Validate(metrics, cancellationToken))
                    {
                        stoppedBy = "early-stop";
                    }

                    evaluated = true;
                }

                var limitReached = training.MaxSteps > 0 && step >= training.MaxSteps;
                if (_settings.Checkpoint.EverySteps > 0 && step % _settings.Checkpoint.EverySteps == 0 && !limitReached && stoppedBy == "epochs")
                {
                    await CheckpointAsync(evaluated ? _progress.LastValidLoss : null, started).ConfigureAwait(false);
                }

                if (limitReached)
                {
                    stoppedBy = "max-steps";
                }

                if (stoppedBy != "epochs")
                {
                    break;
                }
            }

            if (stoppedBy != "epochs")
            {
                break;
            }

            // Epoch end: streams restart from zeros (as word_language_model re-initialises hidden per epoch).
            _progress.Epoch++;
            _progress.Cursor = 0;
            Array.Clear(_state);
            var early = Validate(metrics, cancellationToken);
            evaluatedAtEnd = true;
            await CheckpointAsync(_progress.LastValidLoss, started).ConfigureAwait(false);
            if (early)
            {
                stoppedBy = "early-stop";
            }
            else
            {
                evaluatedAtEnd = false;
            }
        }

        if (stoppedBy == "interrupted")
        {
            TrainingLog.Interrupted(_logger, _progress.Step);
        }

        EvaluationResult? valid = null;
        if (stoppedBy != "interrupted")
        {
            // Reuse a validation already made at this very step (epoch end or eval-every-steps).
            valid = evaluatedAtEnd || _progress.LastValidStep == _progress.Step
                ? _progress.LastValid
                : Evaluate(_corpus.Valid, "valid", metrics, CancellationToken.None);
        }

        // The final checkpoint: also on Ctrl-C, so nothing trained is lost.
        if (_lastCheckpointStep != _progress.Step)
        {
            await CheckpointAsync(valid?.Loss, started).ConfigureAwait(false);
        }

        await DrainCheckpointAsync().ConfigureAwait(false);
        var test = stoppedBy == "interrupted" ? null : Evaluate(_corpus.Test, "test", metrics, CancellationToken.None);
        var wall = _time.GetElapsedTime(started).TotalSeconds;
        var summary = new RunSummary
        {
            Corpus = _corpus.Source,
            Task = _corpus.Task == CorpusTask.Tagging ? "tagging" : "language-model",
            Steps = _progress.Step,
            Epochs = _progress.Epoch,
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
            StoppedBy = stoppedBy,
            LastCheckpoint = _lastCheckpoint,
            BestCheckpoint = _store.BestDirectory,
        };
        await File.WriteAllTextAsync(Path.Combine(_runDirectory, "summary.json"), summary.ToJson(), CancellationToken.None).ConfigureAwait(false);
        return summary;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }

    /// <summary>Evaluates the validation split, updates best/plateau/patience; true when patience ran out.</summary>
    private bool Validate(MetricsLog metrics, CancellationToken cancellationToken)
    {
        var result = Evaluator.Evaluate(_model, _corpus.Valid, _settings.Data.EvalBatchSize, _settings.Data.Bptt, cancellationToken);
        var improved = _progress.BestValidLoss is not { } best || result.Loss < best;
        if (improved)
        {
            _progress.BestValidLoss = result.Loss;
            _progress.EvaluationsWithoutImprovement = 0;
        }
        else
        {
            _progress.EvaluationsWithoutImprovement++;
            var before = _progress.PlateauRate;
            _progress.PlateauRate = _schedule.AfterEvaluation(before, improved: false);
            if (_progress.PlateauRate != before)
            {
                TrainingLog.PlateauDecay(_logger, before, _progress.PlateauRate, _progress.Step);
            }
        }

        _progress.LastValid = result;
        _progress.LastValidStep = _progress.Step;
        var report = new EvaluationReport(_progress.Step, _progress.Epoch, "valid", result, improved);
        metrics.Evaluation(report);
        _observer?.OnEvaluation(report);
        var patience = _settings.Training.Patience;
        if (patience > 0 && _progress.EvaluationsWithoutImprovement >= patience)
        {
            TrainingLog.EarlyStop(_logger, _progress.Step, _progress.EvaluationsWithoutImprovement);
            return true;
        }

        return false;
    }

    private EvaluationResult Evaluate(TokenSplit split, string name, MetricsLog metrics, CancellationToken cancellationToken)
    {
        var result = Evaluator.Evaluate(_model, split, _settings.Data.EvalBatchSize, _settings.Data.Bptt, cancellationToken);
        var report = new EvaluationReport(_progress.Step, _progress.Epoch, name, result, Improved: false);
        metrics.Evaluation(report);
        _observer?.OnEvaluation(report);
        return result;
    }

    /// <summary>
    /// Copies everything on the training thread (the only pause training takes), then commits in the
    /// background; the previous commit is awaited first so commits never overlap.
    /// </summary>
    private async Task CheckpointAsync(double? validLoss, long started)
    {
        await DrainCheckpointAsync().ConfigureAwait(false);
        var state = new TrainerState
        {
            Step = _progress.Step,
            Epoch = _progress.Epoch,
            Cursor = _progress.Cursor,
            TokensSeen = _progress.TokensSeen,
            LearningRate = _schedule.RateAt(_progress.Step + 1, _progress.PlateauRate),
            PlateauLearningRate = _progress.PlateauRate,
            BestValidLoss = _progress.BestValidLoss,
            EvaluationsWithoutImprovement = _progress.EvaluationsWithoutImprovement,
            DataRandomState = _dataRandom.GetState(),
            ModelRandomState = Convert.ToBase64String(_model.GetRandomState()),
            StreamState = Convert.ToBase64String(MemoryMarshal.AsBytes(_state.AsSpan())),
            TrainSeconds = _progress.TrainSecondsBefore + _time.GetElapsedTime(started).TotalSeconds,
        };
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
        _lastCheckpointStep = _progress.Step;
        _pendingCheckpoint = CommitInBackgroundAsync(content);
    }

    private async Task CommitInBackgroundAsync(CheckpointContent content)
    {
        // Off the training thread: hashing and fsync overlap the next steps.
        var committed = await Task.Run(() => _store.CommitAsync(content, CancellationToken.None)).ConfigureAwait(false);
        _lastCheckpoint = committed.Directory;
        TrainingLog.CheckpointCommitted(_logger, committed.Directory, committed.Step, committed.IsBest);
        _observer?.OnCheckpoint(committed.Directory, committed.Step, committed.IsBest);
    }

    private async Task DrainCheckpointAsync()
    {
        if (_pendingCheckpoint is { } pending)
        {
            _pendingCheckpoint = null;
            await pending.ConfigureAwait(false);
        }
    }

    private void Resume(string path)
    {
        var loaded = CheckpointReader.Load(path);
        CheckpointCompatibility.EnsureCompatible(loaded.Manifest, _model.Architecture, _corpus.Vocabulary.Hash, loaded.Directory);
        ModelTensors.ImportModel(_model, loaded.ModelTensors, Path.Combine(loaded.Directory, "model.safetensors"));
        ModelTensors.ImportOptimizer(_optimizer, loaded.OptimizerTensors, Path.Combine(loaded.Directory, "optimizer.safetensors"));
        var s = loaded.TrainerState;
        _model.SetRandomState(Convert.FromBase64String(s.ModelRandomState));
        _dataRandom = SeededRandom.FromState(s.DataRandomState);
        if (s.StreamState is { } streams)
        {
            var bytes = Convert.FromBase64String(streams);
            if (bytes.Length != _state.Length * sizeof(float))
            {
                throw new CheckpointException($"{loaded.Directory}/trainer.json: stream state has {bytes.Length / sizeof(float)} values, expected {_state.Length} (was data.batch-size changed?)");
            }

            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(_state);
        }

        if (s.Cursor > _train.Length)
        {
            throw new CheckpointException($"{loaded.Directory}/trainer.json: cursor {s.Cursor} is past the end of the training streams ({_train.Length}); the data or data.batch-size differ from the run that wrote it");
        }

        _progress = new TrainerProgress
        {
            Step = s.Step,
            Epoch = s.Epoch,
            Cursor = s.Cursor,
            TokensSeen = s.TokensSeen,
            TokensAtStart = s.TokensSeen,
            PlateauRate = s.PlateauLearningRate,
            BestValidLoss = s.BestValidLoss,
            EvaluationsWithoutImprovement = s.EvaluationsWithoutImprovement,
            TrainSecondsBefore = s.TrainSeconds,
        };
        _lastCheckpointStep = s.Step;
        _lastCheckpoint = loaded.Directory;
        TrainingLog.Resumed(_logger, loaded.Directory, s.Step, s.Epoch);
    }

    /// <summary>Mutable counters of the loop (what a checkpoint's TrainerState is made from).</summary>
    private sealed class TrainerProgress
    {
        public long Step { get; set; }

        public int Epoch { get; set; }

        public long Cursor { get; set; }

        public long TokensSeen { get; set; }

        public long TokensAtStart { get; set; }

        public double PlateauRate { get; set; }

        public double? BestValidLoss { get; set; }

        public int EvaluationsWithoutImprovement { get; set; }

        public double LastTrainLoss { get; set; } = double.NaN;

        public double? LastValidLoss => LastValid?.Loss;

        public EvaluationResult? LastValid { get; set; }

        public long LastValidStep { get; set; } = -1;

        public double TrainSecondsBefore { get; set; }
    }

    /// <summary>Loss, norm and throughput accumulated since the last metrics line.</summary>
    private sealed class IntervalStats(long startTimestamp)
    {
        private double _loss;
        private long _tokens;
        private double _norm;
        private int _steps;

        public double MeanLoss => _tokens == 0 ? double.NaN : _loss / _tokens;

        public double MeanNorm => _steps == 0 ? double.NaN : _norm / _steps;

        public void Add(double loss, long tokens, double norm)
        {
            _loss += loss;
            _tokens += tokens;
            _norm += norm;
            _steps++;
        }

        public double TokensPerSecond(TimeProvider time)
        {
            var seconds = time.GetElapsedTime(startTimestamp).TotalSeconds;
            return seconds > 0 ? _tokens / seconds : 0;
        }
    }
}

/// <summary>What a trainer needs from its host: clock, logging and an optional progress observer.</summary>
public sealed record TrainerServices(TimeProvider Time, ILoggerFactory LoggerFactory, ITrainingObserver? Observer = null)
{
    public static TrainerServices Default { get; } = new(TimeProvider.System, NullLoggerFactory.Instance);
}
