using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnCluster.Model.Checkpoints;

/// <summary>Writes <see cref="CellKind"/> with its configuration name so manifests read like the config that made them.</summary>
internal sealed class CellKindJsonConverter : JsonConverter<CellKind>
{
    public override CellKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A cell is a string such as \"lstm\", not {reader.TokenType}.");
        }

        var text = reader.GetString()!;
        return CellNames.TryParse(text, out var cell)
            ? cell
            : throw new JsonException($"Unknown cell \"{text}\"; expected lstm, gru, rnn_tanh or rnn_relu.");
    }

    public override void Write(Utf8JsonWriter writer, CellKind value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(CellNames.ToConfigName(value));
    }
}
