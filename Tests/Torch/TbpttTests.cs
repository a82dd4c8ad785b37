using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>Truncated BPTT: the next window starts from the previous window's final state, and no gradient crosses the boundary.</summary>
public sealed class TbpttTests
{
    private const int T = 4;
    private const int B = 2;

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void Window_k_plus_1_continues_from_window_k_final_state(CellKind cell)
    {
        using var model = new RnnModel(TinyModels.Options(cell));
        var (in1, tg1, in2, tg2, inAll, tgAll) = TwoWindows();
        var s1 = new double[B * model.StateSizePerStream];
        var loss1 = model.ForwardBackward<double>(in1, tg1, T, B, [], s1, false, false).LossSum;
        var loss2 = model.ForwardBackward<double>(in2, tg2, T, B, s1, [], false, false).LossSum;
        var whole = model.ForwardBackward<double>(inAll, tgAll, 2 * T, B, [], [], false, false).LossSum;

        Assert.Equal(whole, loss1 + loss2, 10);

        // Starting window 2 from zeros instead must give a different loss: the state really carries.
        var fresh = model.ForwardBackward<double>(in2, tg2, T, B, [], [], false, false).LossSum;
        Assert.True(Math.Abs(fresh - loss2) > 1e-6, $"window 2 loss from zeros {fresh} equals the carried one {loss2}");
    }

    [Fact]
    public void Final_states_match_running_the_windows_as_one_sequence()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Lstm));
        var (in1, tg1, in2, tg2, inAll, tgAll) = TwoWindows();
        var s1 = new double[B * model.StateSizePerStream];
        var s2 = new double[s1.Length];
        var sAll = new double[s1.Length];
        model.ForwardBackward<double>(in1, tg1, T, B, [], s1, false, false);
        model.ForwardBackward<double>(in2, tg2, T, B, s1, s2, false, false);
        model.ForwardBackward<double>(inAll, tgAll, 2 * T, B, [], sAll, false, false);
        for (var i = 0; i < s2.Length; i++)
        {
            Assert.Equal(sAll[i], s2[i], 12);
        }
    }

    [Fact]
    public void No_gradient_flows_into_the_previous_window()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Lstm));
        var (in1, tg1, in2, tg2, inAll, tgAll) = TwoWindows();
        var s1 = new double[B * model.StateSizePerStream];
        model.ForwardBackward<double>(in1, tg1, T, B, [], s1, false, false);

        // Gradient of window 2 alone, from the carried (detached) state.
        model.ZeroGradients();
        model.ForwardBackward<double>(in2, tg2, T, B, s1, [], false, true);
        var truncated = new double[model.ParameterCount];
        model.ReadGradients<double>(truncated);

        // It equals the derivative of window 2's loss with the incoming state held constant ...
        var p = new double[model.ParameterCount];
        model.ReadParameters<double>(p);
        for (var i = 0; i < p.Length; i += 11)
        {
            var saved = p[i];
            p[i] = saved + 1e-6;
            model.WriteParameters<double>(p);
            var plus = model.ForwardBackward<double>(in2, tg2, T, B, s1, [], false, false).LossSum;
            p[i] = saved - 1e-6;
            model.WriteParameters<double>(p);
            var minus = model.ForwardBackward<double>(in2, tg2, T, B, s1, [], false, false).LossSum;
            p[i] = saved;
            model.WriteParameters<double>(p);
            Assert.Equal((plus - minus) / 2e-6, truncated[i], 6);
        }

        // ... and differs from full BPTT through both windows minus window 1's own gradient.
        model.ZeroGradients();
        model.ForwardBackward<double>(inAll, tgAll, 2 * T, B, [], [], false, true);
        var full = new double[model.ParameterCount];
        model.ReadGradients<double>(full);
        model.ZeroGradients();
        model.ForwardBackward<double>(in1, tg1, T, B, [], [], false, true);
        var first = new double[model.ParameterCount];
        model.ReadGradients<double>(first);
        var crossBoundary = full.Zip(first, (f, g) => f - g).Zip(truncated, (d, t) => Math.Abs(d - t)).Max();
        Assert.True(crossBoundary > 1e-4, "full BPTT should differ from the truncated gradient");
    }

    private static (long[] In1, long[] Tg1, long[] In2, long[] Tg2, long[] InAll, long[] TgAll) TwoWindows()
    {
        var inAll = TinyModels.Ids(2 * T, B, 7, 5);
        var tgAll = TinyModels.Ids(2 * T, B, 7, 6);
        return (inAll[..(T * B)], tgAll[..(T * B)], inAll[(T * B)..], tgAll[(T * B)..], inAll, tgAll);
    }
}
