using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("RnnCluster.Tests.Support.RunsLastTestFramework", "RnnCluster.Tests")]

namespace RnnCluster.Tests.Support;

/// <summary>
/// Marks a test class that must run after every other class of its collection. xunit runs a collection's
/// classes one after another in the order its test cases arrive, which nothing in xunit 2 lets a test set.
/// The short soak needs it: it runs in the background beside the process tests (started by its fixture when
/// the collection starts) and its test only waits for its verdict; run first, that wait held up every other
/// process test for five minutes (seen in CI: the suite took 15m39s instead of about 10).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RunsLastInCollectionAttribute : Attribute;

/// <summary>xunit's own framework, but each collection's test cases come ordered with the <see cref="RunsLastInCollectionAttribute"/> classes last.</summary>
public sealed class RunsLastTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformation, IMessageSink diagnostics)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformation, diagnostics)
    {
        // async void is the base class's contract: the runner reports completion through the message sink.
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        {
            using var runner = new AssemblyRunner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync().ConfigureAwait(false);
        }
    }

    private sealed class AssemblyRunner(ITestAssembly assembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnostics, IMessageSink execution, ITestFrameworkExecutionOptions options)
        : XunitTestAssemblyRunner(assembly, testCases, diagnostics, execution, options)
    {
        private static readonly string Marker = typeof(RunsLastInCollectionAttribute).AssemblyQualifiedName!;

        protected override Task<RunSummary> RunTestCollectionAsync(IMessageBus messageBus, ITestCollection testCollection, IEnumerable<IXunitTestCase> testCases, CancellationTokenSource cancellationTokenSource) =>
            // A stable sort: every other class keeps xunit's order.
            base.RunTestCollectionAsync(messageBus, testCollection, testCases.OrderBy(c => c.TestMethod.TestClass.Class.GetCustomAttributes(Marker).Any()).ToList(), cancellationTokenSource);
    }
}
