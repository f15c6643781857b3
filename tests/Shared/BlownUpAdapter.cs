using System.Buffers.Binary;
using System.Text.Json;

namespace FunctionsLlm.Tests;

/// <summary>
/// Multiplies every lora_B of a PEFT adapter file (F32 safetensors) by 1e30, in place, byte for byte the same length:
/// finite weights whose activations overflow, as a run that diverged leaves them. Base + adapter then gives non-finite
/// logits, which the merge's parity gate refuses.
/// </summary>
internal static class BlownUpAdapter
{
    public static void Apply(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BinaryPrimitives.ReadInt64LittleEndian(bytes));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        int blown = 0;
        foreach (var tensor in header.RootElement.EnumerateObject().Where(t => t.Name.Contains("lora_B", StringComparison.Ordinal)))
        {
            if (tensor.Value.GetProperty("dtype").GetString() is not "F32")
                throw new NotSupportedException($"{path}: {tensor.Name} is {tensor.Value.GetProperty("dtype")}, not F32");
            var offsets = tensor.Value.GetProperty("data_offsets");
            int start = 8 + headerLength + offsets[0].GetInt32(), end = 8 + headerLength + offsets[1].GetInt32();
            for (int at = start; at < end; at += 4)
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at)) * 1e30f);
            blown++;
        }
        if (blown == 0)
            throw new InvalidDataException($"{path} has no lora_B tensor");
        File.WriteAllBytes(path, bytes);
    }
}
