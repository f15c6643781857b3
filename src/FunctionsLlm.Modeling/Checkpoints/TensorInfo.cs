namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>One header entry of a safetensors file. <see cref="Begin"/>/<see cref="End"/> are byte offsets relative to the data section.</summary>
public sealed record TensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Shape)
                count *= dim;
            return count;
        }
    }

    public long ByteLength => End - Begin;
}
