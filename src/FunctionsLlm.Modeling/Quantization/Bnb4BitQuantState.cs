using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// The non-tensor part of a bitsandbytes 4-bit <c>QuantState</c> as transformers saves it beside a quantized weight:
/// <c>{weight}.quant_state.bitsandbytes__{nf4|fp4}</c>, a uint8 tensor holding <c>json.dumps</c> of quant_type,
/// blocksize, dtype (the original weight's), shape and, with double quantization, nested_blocksize, nested_dtype and
/// nested_offset, in that order. The tensors beside it are <c>{weight}.absmax</c>, <c>{weight}.quant_map</c> and, nested,
/// <c>{weight}.nested_absmax</c> and <c>{weight}.nested_quant_map</c>.
/// </summary>
public sealed record Bnb4BitQuantState(string QuantType, int BlockSize, string DType, long[] Shape, Bnb4BitNesting? Nesting = null)
{
    /// <summary>The name of the packed metadata tensor of <paramref name="weightName"/> (e.g. <c>….q_proj.weight</c>).</summary>
    public string MetadataName(string weightName) => $"{weightName}.quant_state.bitsandbytes__{QuantType}";

    /// <summary>The metadata's bytes, as Python's <c>json.dumps</c> writes them (", " and ": " separators, repr floats).</summary>
    public byte[] Pack()
    {
        var json = new StringBuilder();
        json.Append("{\"quant_type\": ").Append(JsonSerializer.Serialize(QuantType))
            .Append(", \"blocksize\": ").Append(BlockSize.ToString(CultureInfo.InvariantCulture))
            .Append(", \"dtype\": ").Append(JsonSerializer.Serialize(DType))
            .Append(", \"shape\": [").Append(string.Join(", ", Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))).Append(']');
        if (Nesting is { } nested)
        {
            json.Append(", \"nested_blocksize\": ").Append(nested.BlockSize.ToString(CultureInfo.InvariantCulture))
                .Append(", \"nested_dtype\": ").Append(JsonSerializer.Serialize(nested.DType))
                .Append(", \"nested_offset\": ").Append(PythonFloat(nested.Offset));
        }
        return Encoding.UTF8.GetBytes(json.Append('}').ToString());
    }

    /// <summary>Reads packed metadata; throws <see cref="InvalidDataException"/> naming what is missing or wrong.</summary>
    public static Bnb4BitQuantState Unpack(ReadOnlySpan<byte> packed, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(packed.ToArray());
            var root = document.RootElement;
            string type = root.GetProperty("quant_type").GetString() ?? throw new InvalidDataException($"{source}: quant_type is null");
            _ = FourBitType.Parse(type);
            var nesting = root.TryGetProperty("nested_blocksize", out var nestedBlockSize)
                ? new Bnb4BitNesting(nestedBlockSize.GetInt32(), root.GetProperty("nested_dtype").GetString()!, root.GetProperty("nested_offset").GetDouble())
                : null;
            return new Bnb4BitQuantState(type, root.GetProperty("blocksize").GetInt32(), root.GetProperty("dtype").GetString()!,
                [.. root.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())], nesting);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: not a bitsandbytes 4-bit quant state: {e.Message}", e);
        }
    }

    // Python's repr of a float: the shortest digits that read back the same, in fixed notation for decimal exponents
    // from −4 to 15 (with ".0" on whole numbers), else as d.ddde±XX.
    private static string PythonFloat(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(nameof(value), value, "JSON has no NaN or infinity");
        string sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        string shortest = Math.Abs(value).ToString("E16", CultureInfo.InvariantCulture);   // fixes the exponent…
        string roundTrip = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);    // …and these the digits
        int exponent = value == 0 ? 0 : int.Parse(shortest[(shortest.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
        string mantissa = roundTrip.Contains('E', StringComparison.Ordinal) ? roundTrip[..roundTrip.IndexOf('E')] : roundTrip;
        string digits = mantissa.Replace(".", "", StringComparison.Ordinal).TrimStart('0').TrimEnd('0');
        if (digits.Length == 0)
            return sign + "0.0";
        if (exponent < -4 || exponent >= 16)
        {
            string fraction = digits.Length > 1 ? "." + digits[1..] : "";
            return $"{sign}{digits[0]}{fraction}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        if (exponent < 0)
            return $"{sign}0.{new string('0', -exponent - 1)}{digits}";
        string whole = digits.Length > exponent + 1 ? digits[..(exponent + 1)] : digits.PadRight(exponent + 1, '0');
        string rest = digits.Length > exponent + 1 ? digits[(exponent + 1)..] : "0";
        return $"{sign}{whole}.{rest}";
    }
}

/// <summary>Double quantization: the absmax values, minus their mean (<paramref name="Offset"/>), in 8 bits per block.</summary>
public sealed record Bnb4BitNesting(int BlockSize, string DType, double Offset);
