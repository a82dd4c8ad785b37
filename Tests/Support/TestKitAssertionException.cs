namespace RnnCluster.Tests.Support;

/// <summary>An expectation of the TestKit failed. Independent of any test framework, so every runner reports it as a failure.</summary>
public sealed class TestKitAssertionException : Exception
{
    public TestKitAssertionException()
    {
    }

    public TestKitAssertionException(string message)
        : base(message)
    {
    }

    public TestKitAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
