using System.Text.Json.Serialization;
using RnnCluster.Training;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Source-generated serialisers for the checkpoint's JSON files: no reflection, and only these known
/// types can come out of a checkpoint. Named floating-point literals keep a NaN loss from making the
/// checkpoint of a diverged run unwritable.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    Converters = [typeof(CellKindJsonConverter)])]
[JsonSerializable(typeof(CheckpointManifest))]
[JsonSerializable(typeof(TrainerState))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
