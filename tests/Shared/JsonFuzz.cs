using System.Text;
using System.Text.Json.Nodes;

namespace FunctionsLlm.Tests;

/// <summary>
/// Seeded mutations of valid JSON request bodies, for the fuzz tests of the JSON APIs: a value of the wrong type, a huge
/// or non-finite-looking number, deep nesting, a missing or duplicated field, invalid UTF-8 inside a string, a body cut
/// short, flipped bytes. The same seed gives the same bodies, so a failure names a reproducible case.
/// </summary>
internal sealed class JsonFuzz(int seed, params string[] validBodies)
{
    private static readonly string[] HugeNumbers =
        ["1e308", "-1e308", "1e999", "9223372036854775808", "-9223372036854775809", "4294967296", "-1", "0", "0.5", "1e-320", "123456789012345678901234567890"];

    private readonly Random _random = new(seed);

    /// <summary>The next mutated body and what was done to it (for the failure message).</summary>
    public (string Mutation, byte[] Body) Next()
    {
        string valid = validBodies[_random.Next(validBodies.Length)];
        var node = JsonNode.Parse(valid)!;
        return _random.Next(9) switch
        {
            0 => ("wrong type", Bytes(ReplaceOne(node, RandomValue()))),
            1 => ("huge number", Bytes(ReplaceOneRaw(node, HugeNumbers[_random.Next(HugeNumbers.Length)]))),
            2 => ("deep nesting", Bytes(ReplaceOneRaw(node, Nested(_random.Next(2) == 0 ? 70 : 5000)))),
            3 => ("missing field", Bytes(RemoveOne(node))),
            4 => ("duplicated field", Bytes(DuplicateOne(valid))),
            5 => ("invalid UTF-8", InvalidUtf8(valid)),
            6 => ("cut short", Encoding.UTF8.GetBytes(valid[.._random.Next(valid.Length)])),
            7 => ("flipped bytes", FlipBytes(Encoding.UTF8.GetBytes(valid))),
            _ => ("not an object", Bytes(RandomValue())),
        };
    }

    private static byte[] Bytes(JsonNode? node) => Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null");

    private static byte[] Bytes(string json) => Encoding.UTF8.GetBytes(json);

    private JsonNode? RandomValue() => _random.Next(7) switch
    {
        0 => JsonValue.Create("x"),
        1 => JsonValue.Create(_random.Next(-5, 100000)),
        2 => JsonValue.Create(true),
        3 => null,
        4 => new JsonArray(JsonValue.Create(1), JsonValue.Create("a")),
        5 => new JsonObject { ["a"] = 1 },
        _ => JsonValue.Create(new string('é', _random.Next(1, 5000))),
    };

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    /// <summary>Every place a value sits: (parent, property name or index).</summary>
    private static List<(JsonNode Parent, object Key)> Places(JsonNode root)
    {
        var places = new List<(JsonNode, object)>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (key, value) in o.ToList())
                    {
                        places.Add((o, key));
                        Walk(value);
                    }
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++)
                    {
                        places.Add((a, i));
                        Walk(a[i]);
                    }
                    break;
            }
        }
        Walk(root);
        return places;
    }

    private JsonNode? ReplaceOne(JsonNode root, JsonNode? value)
    {
        var places = Places(root);
        if (places.Count == 0)
            return value;
        var (parent, key) = places[_random.Next(places.Count)];
        if (key is string name)
            parent.AsObject()[name] = value;
        else
            parent.AsArray()[(int)key] = value;
        return root;
    }

    /// <summary>Replaces one value with raw JSON text (numbers and nesting that JsonNode would not hold as given).</summary>
    private string ReplaceOneRaw(JsonNode root, string raw)
    {
        const string Marker = "\"__fuzz_marker__\"";
        var replaced = ReplaceOne(root, JsonValue.Create("__fuzz_marker__"));
        return (replaced?.ToJsonString() ?? Marker).Replace(Marker, raw, StringComparison.Ordinal);
    }

    private JsonNode RemoveOne(JsonNode root)
    {
        var fields = Places(root).Where(p => p.Key is string).ToList();
        if (fields.Count > 0)
        {
            var (parent, key) = fields[_random.Next(fields.Count)];
            parent.AsObject().Remove((string)key);
        }
        return root;
    }

    /// <summary>The first field of the top-level object written twice, the copy with another value.</summary>
    private string DuplicateOne(string valid)
    {
        int open = valid.IndexOf('{', StringComparison.Ordinal);
        if (open < 0 || JsonNode.Parse(valid) is not JsonObject { Count: > 0 } o)
            return valid;
        string name = o.First().Key;
        return valid[..(open + 1)] + $"\"{name}\": {RandomValue()?.ToJsonString() ?? "null"}, " + valid[(open + 1)..];
    }

    private byte[] InvalidUtf8(string valid)
    {
        var bytes = Encoding.UTF8.GetBytes(valid).ToList();
        int quote = valid.IndexOf(": \"", StringComparison.Ordinal);
        int at = quote >= 0 ? Encoding.UTF8.GetByteCount(valid[..(quote + 3)]) : bytes.Count / 2;
        byte[][] bad = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]];
        bytes.InsertRange(at, bad[_random.Next(bad.Length)]);
        return [.. bytes];
    }

    private byte[] FlipBytes(byte[] bytes)
    {
        for (int i = 0, n = _random.Next(1, 4); i < n && bytes.Length > 0; i++)
            bytes[_random.Next(bytes.Length)] ^= (byte)(1 << _random.Next(8));
        return bytes;
    }
}
