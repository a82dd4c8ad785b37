namespace RnnCluster.Data;

/// <summary>What reading a corpus does on bytes that are not UTF-8.</summary>
public enum Utf8Policy
{
    /// <summary>Refuse the file, naming the offset of the first bad byte.</summary>
    Error,

    /// <summary>Substitute U+FFFD for each maximal invalid subsequence and count the bytes replaced.</summary>
    Replace,
}
