using Microsoft.Extensions.Logging;

namespace RnnCluster.Remote.Actors;

internal static partial class RemoteActorsLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Not sent: {MessageType} to {Recipient}: {Reason}")]
    public static partial void NotSent(ILogger logger, string messageType, string recipient, string reason);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Refused {MessageType} from {Peer}: {Reason}")]
    public static partial void Refused(ILogger logger, string messageType, string peer, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "No actor {Recipient} for {MessageType} from {Peer}; sent to dead letters")]
    public static partial void NoRecipient(ILogger logger, string messageType, string recipient, string peer);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Dropped a message from {Peer} with a bad recipient '{Recipient}': {Reason}")]
    public static partial void BadAddress(ILogger logger, string peer, string recipient, string reason);
}
