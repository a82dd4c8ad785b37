namespace RnnCluster.Data;

public enum GrammaticalNumber
{
    Singular,
    Plural,
}
