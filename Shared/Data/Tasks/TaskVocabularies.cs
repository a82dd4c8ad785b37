namespace RnnCluster.Data.Tasks;

/// <summary>What a trained model fixes about its data: the kind, the token vocabularies and the labels or tags.</summary>
public sealed record TaskVocabularies(TaskKind Kind, Vocabulary Source, Vocabulary? Target, LabelSet? Labels);
