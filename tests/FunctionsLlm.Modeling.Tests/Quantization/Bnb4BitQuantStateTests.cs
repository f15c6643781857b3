using System.Text;
using FunctionsLlm.Modeling.Quantization;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>
/// The quant-state metadata transformers writes beside a bitsandbytes 4-bit weight: QuantState.as_dict(packed=True)
/// keeps the non-tensor items in insertion order and packs json.dumps of them (Python's default ", " and ": ").
/// </summary>
public sealed class Bnb4BitQuantStateTests
{
    [Fact]
    public void The_metadata_is_the_bytes_python_json_dumps_writes()
    {
        var plain = new Bnb4BitQuantState("nf4", 64, "bfloat16", [4096, 11008]);
        var nested = new Bnb4BitQuantState("fp4", 128, "float16", [64, 32], new Bnb4BitNesting(256, "float32", 0.0123));

        Assert.Equal("""{"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [4096, 11008]}""", Encoding.UTF8.GetString(plain.Pack()));
        Assert.Equal("""{"quant_type": "fp4", "blocksize": 128, "dtype": "float16", "shape": [64, 32], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0123}""",
            Encoding.UTF8.GetString(nested.Pack()));
        Assert.Equal("model.layers.0.mlp.down_proj.weight.quant_state.bitsandbytes__nf4", plain.MetadataName("model.layers.0.mlp.down_proj.weight"));
    }

    [Theory]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(2.0, "2.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(-1.5e-7, "-1.5e-07")]
    [InlineData(123.456, "123.456")]
    [InlineData(0.1, "0.1")]
    public void The_nested_offset_is_written_as_pythons_repr_of_the_float(double offset, string repr)
    {
        var state = new Bnb4BitQuantState("nf4", 64, "bfloat16", [2, 32], new Bnb4BitNesting(256, "float32", offset));
        Assert.EndsWith($"\"nested_offset\": {repr}}}", Encoding.UTF8.GetString(state.Pack()), StringComparison.Ordinal);
    }

    [Fact]
    public void Packed_metadata_reads_back_and_broken_metadata_is_named()
    {
        var written = new Bnb4BitQuantState("nf4", 64, "bfloat16", [64, 32], new Bnb4BitNesting(256, "float32", -0.5));

        var read = Bnb4BitQuantState.Unpack(written.Pack(), "w");

        Assert.Equal(("nf4", 64, "bfloat16", written.Nesting), (read.QuantType, read.BlockSize, read.DType, read.Nesting));
        Assert.Equal([64L, 32L], read.Shape);
        var broken = Assert.Throws<InvalidDataException>(() => Bnb4BitQuantState.Unpack("""{"quant_type": "int4", "blocksize": 64}"""u8, "x.safetensors"));
        Assert.StartsWith("x.safetensors: not a bitsandbytes 4-bit quant state", broken.Message);
        Assert.Throws<InvalidDataException>(() => Bnb4BitQuantState.Unpack("""{"quant_type": "nf4"}"""u8, "x"));
        Assert.Throws<InvalidDataException>(() => Bnb4BitQuantState.Unpack("not json"u8, "x"));
    }
}
