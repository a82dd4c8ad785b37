using System.Buffers;
using System.Text.Json;

namespace RnnCluster.Monitoring;

/// <summary>
/// The JSON of <c>/api/state</c>, <c>/api/events</c> and <c>/status</c> (docs/monitoring.md is the contract):
/// camelCase, series column by column so a chart takes them as they are, NaN and infinities as null
/// (JSON has neither). Written by hand with <see cref="Utf8JsonWriter"/> so the shape is exactly the documented one.
/// </summary>
public static class MonitorJson
{
    public static byte[] State(MonitorSnapshot snapshot) => Write(w => WriteState(w, snapshot));

    public static byte[] Update(MonitorUpdate update) => Write(w => WriteUpdate(w, update));

    public static byte[] Status(MonitorSnapshot snapshot) => Write(w =>
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        w.WriteStartObject();
        w.WriteString("state", snapshot.State);
        w.WriteNumber("step", snapshot.Step);
        w.WriteNumber("totalSteps", snapshot.Run.TotalSteps);
        w.WriteNumber("generation", snapshot.Generation);
        w.WriteString("mode", snapshot.Run.Mode);
        w.WritePropertyName("members");
        WriteMembers(w, snapshot.Members);
        w.WritePropertyName("lastCheckpoint");
        WriteCheckpoint(w, snapshot.LastCheckpoint);
        w.WriteString("lastError", snapshot.LastError);
        w.WriteEndObject();
    });

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteState(Utf8JsonWriter w, MonitorSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        w.WriteStartObject();
        w.WriteStartObject("run");
        w.WriteString("runDirectory", s.Run.RunDirectory);
        w.WriteString("task", s.Run.Task);
        w.WriteString("mode", s.Run.Mode);
        w.WriteNumber("parameters", s.Run.Parameters);
        w.WriteNumber("totalSteps", s.Run.TotalSteps);
        w.WriteNumber("stepsPerEpoch", s.Run.StepsPerEpoch);
        Number(w, "startedUnix", s.Run.StartedUnix ?? double.NaN);
        w.WriteEndObject();
        w.WriteString("state", s.State);
        w.WriteNumber("step", s.Step);
        w.WriteNumber("epoch", s.Epoch);
        w.WriteNumber("generation", s.Generation);
        w.WritePropertyName("lastCheckpoint");
        WriteCheckpoint(w, s.LastCheckpoint);
        w.WriteString("lastError", s.LastError);
        w.WriteStartObject("train");
        Columns(w, s.Train, "loss", "lr", "gradNorm", "tokensPerSecond");
        w.WriteEndObject();
        w.WriteStartObject("valid");
        Columns(w, s.Valid, "loss");
        w.WriteEndObject();
        w.WritePropertyName("members");
        WriteMembers(w, s.Members);
        w.WriteStartArray("events");
        foreach (var e in s.Events)
        {
            WriteEvent(w, e);
        }

        w.WriteEndArray();
        w.WritePropertyName("split");
        WriteSplit(w, s.Split);
        w.WriteString("sample", s.Sample);
        w.WriteEndObject();
    }

    private static void WriteUpdate(Utf8JsonWriter w, MonitorUpdate update)
    {
        switch (update)
        {
            case StateUpdate state:
                WriteState(w, state.Snapshot);
                break;
            case StepUpdate step:
                w.WriteStartObject();
                w.WriteNumber("step", step.Step);
                w.WriteNumber("epoch", step.Epoch);
                Number(w, "unix", step.Unix);
                Number(w, "loss", step.Loss);
                Number(w, "lr", step.LearningRate);
                Number(w, "gradNorm", step.GradientNorm);
                Number(w, "tokensPerSecond", step.TokensPerSecond);
                w.WriteEndObject();
                break;
            case ValidUpdate valid:
                w.WriteStartObject();
                w.WriteNumber("step", valid.Step);
                Number(w, "unix", valid.Unix);
                Number(w, "loss", valid.Loss);
                w.WriteEndObject();
                break;
            case MembersUpdate members:
                WriteMembers(w, members.Members);
                break;
            case EventUpdate e:
                WriteEvent(w, e.Event);
                break;
            case CheckpointUpdate checkpoint:
                WriteCheckpoint(w, checkpoint.Checkpoint);
                break;
            case SampleUpdate sample:
                w.WriteStartObject();
                w.WriteNumber("step", sample.Step);
                w.WriteString("text", sample.Text);
                w.WriteEndObject();
                break;
            case SplitUpdate split:
                WriteSplit(w, split.Split);
                break;
            default:
                throw new ArgumentException($"no JSON for {update?.GetType().Name ?? "null"}", nameof(update));
        }
    }

    private static void Columns(Utf8JsonWriter w, HistoryColumns columns, params string[] names)
    {
        w.WriteStartArray("step");
        foreach (var step in columns.Steps)
        {
            w.WriteNumberValue(step);
        }

        w.WriteEndArray();
        Series(w, "unix", columns.Unix);
        for (var i = 0; i < names.Length; i++)
        {
            Series(w, names[i], columns.Values[i]);
        }
    }

    private static void Series(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            NumberValue(w, value);
        }

        w.WriteEndArray();
    }

    private static void WriteMembers(Utf8JsonWriter w, IReadOnlyList<MemberStatus> members)
    {
        w.WriteStartArray();
        foreach (var m in members)
        {
            w.WriteStartObject();
            w.WriteNumber("index", m.Index);
            w.WriteString("role", m.Role);
            w.WriteString("address", m.Address);
            w.WriteString("state", m.State);
            w.WriteNumber("incarnation", m.Incarnation);
            Number(w, "stepMs", m.StepMs ?? double.NaN);
            Number(w, "streamShare", m.StreamShare ?? double.NaN);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteEvent(Utf8JsonWriter w, RunEvent e)
    {
        w.WriteStartObject();
        Number(w, "unix", e.Unix);
        w.WriteNumber("step", e.Step);
        w.WriteString("kind", e.Kind);
        w.WriteString("text", e.Text);
        w.WriteEndObject();
    }

    private static void WriteCheckpoint(Utf8JsonWriter w, CheckpointMark? c)
    {
        if (c is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteNumber("step", c.Step);
        w.WriteString("path", c.Path);
        w.WriteBoolean("best", c.Best);
        Number(w, "unix", c.Unix);
        w.WriteEndObject();
    }

    private static void WriteSplit(Utf8JsonWriter w, StepSplit? split)
    {
        if (split is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        Number(w, "computeMs", split.ComputeMs);
        Number(w, "communicationMs", split.CommunicationMs);
        Number(w, "applyMs", split.ApplyMs);
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        NumberValue(w, value);
    }

    private static void NumberValue(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumberValue(value);
        }
        else
        {
            w.WriteNullValue();
        }
    }
}
