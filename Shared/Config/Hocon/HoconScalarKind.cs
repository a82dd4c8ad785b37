namespace RnnCluster.Config;

/// <summary>How a scalar was written; typed getters convert from the text whatever the kind.</summary>
public enum HoconScalarKind
{
    /// <summary>Quoted, unquoted or concatenated text, or an environment substitution.</summary>
    String = 0,
    Number = 1,
    Boolean = 2,
    Null = 3,
}
