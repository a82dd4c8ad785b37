namespace RnnCluster.Actors.Dispatch;

internal static class DeadLetterReasons
{
    public const string Terminated = "recipient terminated";
    public const string MailboxFull = "mailbox full";
    public const string SentToDeadLetters = "sent to dead letters";
    public const string AskCompleted = "ask already completed";
    public const string NotFound = "no actor at path";
}
