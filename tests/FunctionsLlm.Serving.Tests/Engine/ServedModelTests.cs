using System.Runtime.Intrinsics;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests.Engine;

public class ServedModelTests
{
    [Fact]
    public void A_served_model_holds_its_F32_linear_weights_packed_where_the_CPU_has_512_bit_vectors()
    {
        using var served = TestModels.Load();
        var linears = served.Model.modules().OfType<LinearLayer>().ToList();
        Assert.NotEmpty(linears);
        Assert.All(linears, layer => Assert.Equal(Vector512.IsHardwareAccelerated, layer.Packed is not null));
        Assert.All(linears, layer => Assert.Equal(Vector512.IsHardwareAccelerated, layer.weight is null));   // one copy only
    }

    [Fact]
    public void Q8_0_weights_asked_for_stay_Q8_0()
    {
        using var served = ServedModel.Load(TestModels.Directory(), TestModels.Name, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = true });
        Assert.All(served.Model.modules().OfType<LinearLayer>(), layer =>
        {
            Assert.NotNull(layer.Q8);
            Assert.Null(layer.Packed);
        });
    }
}
