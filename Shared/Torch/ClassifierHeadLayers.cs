using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>The bound tensors of a <see cref="ClassifierHead"/>: <c>head.0</c>, and <c>head.2</c> when it has a hidden layer.</summary>
internal sealed class ClassifierHeadLayers(ClassifierHead head, Tensor weight0, Tensor bias0, Tensor? weight2, Tensor? bias2)
{
    /// <summary>Class scores of <paramref name="features"/> <c>[..., F]</c>.</summary>
    public Tensor Apply(Tensor features)
    {
        var x = nn.functional.linear(features, weight0, bias0);
        if (weight2 is null)
        {
            return x;
        }

        x = head.Activation == HeadActivation.Relu ? nn.functional.relu(x) : x.tanh();
        return nn.functional.linear(x, weight2, bias2!);
    }
}
