using System.Collections.Immutable;
using System.Text;

namespace RnnCluster.Actors;

/// <summary>
/// The hierarchical name of an actor: an <see cref="ActorAddress"/> plus the names from the root,
/// e.g. <c>rnn://trainer/user/coordinator/worker-1</c>. Immutable; equality is by address and elements.
/// </summary>
public sealed class ActorPath : IEquatable<ActorPath>
{
    private readonly ImmutableArray<string> _elements;
    private string? _text;

    private ActorPath(ActorAddress address, ImmutableArray<string> elements)
    {
        Address = address;
        _elements = elements;
    }

    public ActorAddress Address { get; }

    /// <summary>The names below the root, e.g. <c>["user", "coordinator"]</c>.</summary>
    public IReadOnlyList<string> Elements => _elements;

    /// <summary>The last element, or <c>"/"</c> for the root.</summary>
    public string Name => _elements.IsEmpty ? "/" : _elements[^1];

    public ActorPath? Parent => _elements.IsEmpty ? null : new ActorPath(Address, _elements.RemoveAt(_elements.Length - 1));

    /// <summary>The path without its address: <c>/user/coordinator</c>.</summary>
    public string LocalPart => _elements.IsEmpty ? "/" : "/" + string.Join('/', _elements);

    public static ActorPath Root(ActorAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new ActorPath(address, []);
    }

    public ActorPath Child(string name)
    {
        ValidateElement(name);
        return new ActorPath(Address, _elements.Add(name));
    }

    /// <summary>
    /// Parses <c>rnn://system[@host:port]/a/b</c>. A path without an address (<c>/user/a</c>) is resolved
    /// against <paramref name="defaultAddress"/>.
    /// </summary>
    public static ActorPath Parse(string path, ActorAddress defaultAddress)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(defaultAddress);
        var address = defaultAddress;
        var rest = path;
        var prefix = ActorAddress.Protocol + "://";
        if (path.StartsWith(prefix, StringComparison.Ordinal))
        {
            var afterScheme = path[prefix.Length..];
            var slash = afterScheme.IndexOf('/', StringComparison.Ordinal);
            var authority = slash < 0 ? afterScheme : afterScheme[..slash];
            rest = slash < 0 ? "/" : afterScheme[slash..];
            address = ParseAuthority(authority, path);
        }
        else if (!path.StartsWith('/'))
        {
            throw new FormatException($"An actor path starts with '/' or '{prefix}': '{path}'.");
        }

        var elements = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var element in elements)
        {
            ValidateElement(element);
        }

        return new ActorPath(address, [.. elements]);
    }

    public bool Equals(ActorPath? other) =>
        other is not null && Address.Equals(other.Address) && _elements.AsSpan().SequenceEqual(other._elements.AsSpan());

    public override bool Equals(object? obj) => Equals(obj as ActorPath);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    public override string ToString() => _text ??= Address + LocalPart;

    internal static void ValidateSystemName(string system)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(system);
        foreach (var c in system)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
            {
                throw new ArgumentException($"An actor system name uses ASCII letters, digits, '-' and '_': '{system}'.", nameof(system));
            }
        }
    }

    internal static void ValidateElement(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var c in name)
        {
            if (c is '/' or '@' or '#' or ' ' || char.IsControl(c))
            {
                throw new InvalidActorNameException($"An actor name may not contain '/', '@', '#', spaces or control characters: '{name}'.");
            }
        }
    }

    private static ActorAddress ParseAuthority(string authority, string path)
    {
        var at = authority.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return new ActorAddress(authority);
        }

        var hostPort = authority[(at + 1)..];
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            throw new FormatException(new StringBuilder("An actor path address is system@host:port: '").Append(path).Append("'.").ToString());
        }

        return new ActorAddress(authority[..at], hostPort[..colon], port);
    }
}
