using System.Reflection;
using System.Reflection.Emit;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Tests.DataPlane;

/// <summary>
/// The data plane must stay usable on its own: when the actors, the home-made membership and the
/// remoting layer give way to Akka.NET, nothing in <c>RnnCluster.DataPlane</c> may come with them, and
/// the data plane must never lean on Akka either. The check reads the Shared assembly by reflection:
/// every signature, field, local, catch clause and attribute of every data-plane type (compiler-made
/// nested types such as async state machines and lambdas included), and every type, method and field
/// token in their IL, so a reference inside a method body counts as much as one in a signature.
/// </summary>
public sealed class DataPlaneArchitectureTests
{
    private static readonly string[] Forbidden = ["RnnCluster.Actors", "RnnCluster.Cluster", "RnnCluster.Remote", "RnnCluster.Training", "Akka"];

    private static readonly Assembly Shared = typeof(FrameLimits).Assembly;

    [Fact]
    public void The_data_plane_references_no_actor_cluster_remoting_training_or_Akka_type()
    {
        var types = Shared.GetTypes().Where(t => InNamespace(t, "RnnCluster.DataPlane")).ToList();
        Assert.Contains(typeof(TensorTransport), types);
        Assert.Contains(typeof(TransportTls), types);
        Assert.Contains(typeof(RnnCluster.DataPlane.Protocol.Frame), types);

        var violations = types
            .SelectMany(type => References(type).Where(r => Forbidden.Any(f => InNamespace(r.Type, f))).Select(r => $"{type.FullName} -> {r.Type.FullName} ({r.Where})"))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(violations.Count == 0, "The data plane references types it must not:\n" + string.Join("\n", violations));
    }

    /// <summary>The scan is only worth its silence if it finds what is there: references that live only in method bodies.</summary>
    [Fact]
    public void The_scan_finds_references_inside_method_bodies_and_async_state_machines()
    {
        var link = typeof(RnnCluster.Parallel.Cluster.StepLink);
        var found = Shared.GetTypes()
            .Where(t => t == link || t.DeclaringType == link)
            .SelectMany(References)
            .Select(r => r.Type.FullName)
            .ToHashSet(StringComparer.Ordinal);

        // Called in the send and receive loops' bodies only; caught in the receive loop's state machine only.
        Assert.Contains("RnnCluster.Parallel.Cluster.StepCodec", found);
        Assert.Contains("RnnCluster.DataPlane.Tensors.TensorConnectionException", found);
    }

    private static bool InNamespace(Type type, string name) =>
        type.Namespace is { } ns && (string.Equals(ns, name, StringComparison.Ordinal) || ns.StartsWith(name + ".", StringComparison.Ordinal));

    private static IEnumerable<(Type Type, string Where)> References(Type type)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var direct = new List<(Type?, string)> { (type.BaseType, "base type") };
        direct.AddRange(type.GetInterfaces().Select(i => ((Type?)i, "interface")));
        direct.AddRange(type.GetCustomAttributesData().Select(a => ((Type?)a.AttributeType, "attribute")));
        direct.AddRange(type.GetFields(All).Select(f => ((Type?)f.FieldType, $"field {f.Name}")));
        direct.AddRange(type.GetProperties(All).Select(p => ((Type?)p.PropertyType, $"property {p.Name}")));
        direct.AddRange(type.GetEvents(All).Select(e => (e.EventHandlerType, $"event {e.Name}")));
        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            var where = $"{method.Name}";
            if (method is MethodInfo info)
            {
                direct.Add((info.ReturnType, $"{where} return"));
            }

            direct.AddRange(method.GetParameters().Select(p => ((Type?)p.ParameterType, $"{where} parameter")));
            direct.AddRange(method.GetCustomAttributesData().Select(a => ((Type?)a.AttributeType, $"{where} attribute")));
            if (method.GetMethodBody() is { } body)
            {
                direct.AddRange(body.LocalVariables.Select(l => ((Type?)l.LocalType, $"{where} local")));
                direct.AddRange(body.ExceptionHandlingClauses.Where(c => c.Flags == ExceptionHandlingClauseOptions.Clause).Select(c => ((Type?)c.CatchType, $"{where} catch")));
                direct.AddRange(BodyTokens(method).Select(t => ((Type?)t, $"{where} body")));
            }
        }

        return direct.Where(d => d.Item1 is not null).SelectMany(d => Flatten(d.Item1!).Select(t => (t, d.Item2)));
    }

    /// <summary>A type and everything it is built from: element types, generic arguments, the generic definition.</summary>
    private static IEnumerable<Type> Flatten(Type type)
    {
        if (type.IsGenericParameter)
        {
            yield break;
        }

        if (type.HasElementType)
        {
            foreach (var element in Flatten(type.GetElementType()!))
            {
                yield return element;
            }

            yield break;
        }

        yield return type;
        if (type.IsConstructedGenericType)
        {
            yield return type.GetGenericTypeDefinition();
            foreach (var argument in type.GenericTypeArguments.SelectMany(Flatten))
            {
                yield return argument;
            }
        }
    }

    /// <summary>The types behind every type, method and field token in the method's IL (with the members' signatures).</summary>
    private static IEnumerable<Type> BodyTokens(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method is MethodInfo { IsGenericMethod: true } ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            var code = il[position] == 0xFE ? TwoByte[il[position + 1]] : OneByte[il[position]];
            position += code.Size;
            switch (code.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                    var member = method.Module.ResolveMember(BitConverter.ToInt32(il, position), typeArguments, methodArguments);
                    foreach (var type in TypesOf(member))
                    {
                        yield return type;
                    }

                    position += 4;
                    break;
                case OperandType.InlineSwitch:
                    position += 4 + (4 * BitConverter.ToInt32(il, position));
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    position += 8;
                    break;
                case OperandType.InlineVar:
                    position += 2;
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    position += 1;
                    break;
                case OperandType.InlineNone:
                    break;
                default:
                    position += 4; // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
                    break;
            }
        }
    }

    private static IEnumerable<Type> TypesOf(MemberInfo? member) => member switch
    {
        Type type => [type],
        FieldInfo field => [field.DeclaringType!, field.FieldType],
        MethodInfo called => [called.DeclaringType!, called.ReturnType, .. called.GetParameters().Select(p => p.ParameterType), .. called.IsGenericMethod ? called.GetGenericArguments() : []],
        ConstructorInfo constructor => [constructor.DeclaringType!, .. constructor.GetParameters().Select(p => p.ParameterType)],
        _ => [],
    };

    private static readonly OpCode[] OneByte = OpCodesBy(size: 1);

    private static readonly OpCode[] TwoByte = OpCodesBy(size: 2);

    private static OpCode[] OpCodesBy(int size)
    {
        var table = new OpCode[256];
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode code && code.Size == size)
            {
                table[(ushort)code.Value & 0xFF] = code;
            }
        }

        return table;
    }
}
