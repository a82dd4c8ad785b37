using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>Analytic gradients of a double-precision model against central differences of its loss.</summary>
internal static class GradientCheck
{
    /// <summary>
    /// Runs <paramref name="loss"/> once with backward, then perturbs every <paramref name="stride"/>-th
    /// element of EVERY named tensor (so no tensor escapes) and compares. <paramref name="loss"/> gets
    /// "backward?" and returns the loss sum. Returns the gradient for further checks.
    /// </summary>
    public static double[] AssertMatchesCentralDifferences(TorchModel model, Func<bool, double> loss, int stride = 2)
    {
        model.ZeroGradients();
        loss(true);
        var analytic = new double[model.ParameterCount];
        model.ReadGradients<double>(analytic);
        var parameters = new double[model.ParameterCount];
        model.ReadParameters<double>(parameters);
        const double eps = 1e-6;
        foreach (var slice in model.Layout)
        {
            for (var k = 0L; k < slice.Count; k += stride)
            {
                var i = (int)(slice.Offset + k);
                var saved = parameters[i];
                parameters[i] = saved + eps;
                model.WriteParameters<double>(parameters);
                var plus = loss(false);
                parameters[i] = saved - eps;
                model.WriteParameters<double>(parameters);
                var minus = loss(false);
                parameters[i] = saved;
                var numeric = (plus - minus) / (2 * eps);
                if (Math.Abs(numeric - analytic[i]) > 1e-6 * Math.Max(1.0, Math.Abs(numeric)))
                {
                    model.WriteParameters<double>(parameters);
                    Assert.Fail($"{slice.Name}[{k}]: analytic {analytic[i]:G10}, numeric {numeric:G10}");
                }
            }
        }

        model.WriteParameters<double>(parameters);
        return analytic;
    }

    /// <summary>True when some gradient element of the named tensor is not zero: the tensor takes part in the loss.</summary>
    public static bool Touches(TorchModel model, double[] gradient, string name)
    {
        var slice = model.Layout.Single(s => s.Name == name);
        return gradient.AsSpan((int)slice.Offset, (int)slice.Count).ContainsAnyExcept(0.0);
    }
}
