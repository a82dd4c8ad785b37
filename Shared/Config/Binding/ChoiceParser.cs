namespace RnnCluster.Config;

/// <summary>Parses a symbolic setting (<c>lstm</c>, <c>adam</c>); the shape of <c>CellNames.TryParse</c>.</summary>
public delegate bool ChoiceParser<T>(string text, out T value);
