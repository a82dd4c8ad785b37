namespace RnnCluster.Config;

/// <summary>What reading a corpus does with bytes that are not UTF-8: stop with an error, or replace them with U+FFFD.</summary>
public enum InvalidUtf8Policy
{
    Error = 0,
    Replace = 1,
}
