namespace RnnCluster.Config;

/// <summary>What the coordinator does when a step's deadline passes before every worker replied.</summary>
public enum StragglerPolicy
{
    /// <summary>Log the straggler and keep waiting: exact, never skips a window.</summary>
    Wait,

    /// <summary>Apply the step with the contributions that arrived, rescaled by their tokens; the late streams skip this window.</summary>
    Drop,
}
