using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Reading;

namespace FunctionsLlm.Data.Tests.Reading;

public sealed class RecordReaderTests
{
    private static RecordReader Reader(string text, RecordReaderOptions? options = null) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    private static List<(SourceLocation Location, string Text)> ReadAll(RecordReader reader) =>
        reader.ReadRecords().Select(r => (r.Location, Encoding.UTF8.GetString(r.Utf8.Span))).ToList();

    [Fact]
    public void Jsonl_records_carry_their_line_numbers_and_blank_lines_are_skipped()
    {
        using var reader = Reader("\n{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}");

        var records = ReadAll(reader);

        Assert.Equal(InputKind.JsonLines, reader.Kind);
        Assert.Equal([(2L, "{\"a\":1}"), (5L, "{\"b\":2}"), (6L, "{\"c\":3}")], records.Select(r => (r.Location.Line, r.Text)));
    }

    [Fact]
    public void Json_array_elements_carry_index_line_and_character_column()
    {
        using var reader = Reader("[\n  {\"q\": \"退货\", \"nested\": {\"x\": [1, \"]\"]}},\n  {\"q\": \"a\\\"b\"}, 7, \"s\",\n  null\n]\n");

        var records = ReadAll(reader);

        Assert.Equal(InputKind.JsonArray, reader.Kind);
        Assert.Null(reader.Error);
        Assert.Equal(["{\"q\": \"退货\", \"nested\": {\"x\": [1, \"]\"]}}", "{\"q\": \"a\\\"b\"}", "7", "\"s\"", "null"], records.Select(r => r.Text));
        Assert.Equal(new SourceLocation(2, 3, 0), records[0].Location);
        Assert.Equal(new SourceLocation(3, 3, 1), records[1].Location);
        Assert.Equal(new SourceLocation(3, 18, 2), records[2].Location);
        Assert.Equal(new SourceLocation(4, 3, 4), records[4].Location);
    }

    [Theory]
    [InlineData("[{\"a\":1},]", 1, 10, "trailing comma before ']'")]
    [InlineData("[{\"a\":1} {\"b\":2}]", 1, 10, "expected ',' or ']' after record 0, found '{'")]
    [InlineData("[{\"a\":1}] x", 1, 11, "unexpected 'x' after the end of the array")]
    [InlineData("[{\"a\":1},\n {\"b\":", 2, 7, "the array is not closed: unexpected end of file inside a record")]
    [InlineData("[{\"a\":1}", 1, 9, "the array is not closed: unexpected end of file")]
    public void A_broken_array_stops_with_line_and_column_after_the_good_records(string text, long line, long column, string message)
    {
        using var reader = Reader(text);

        var records = ReadAll(reader);

        Assert.Equal("{\"a\":1}", records[0].Text);
        Assert.Equal(new ReadError(line, column, message), reader.Error);
    }

    [Fact]
    public void Utf16_without_a_bom_is_recognised()
    {
        var bytes = Encoding.BigEndianUnicode.GetBytes("[{\"q\": \"发票\"}]");
        using var reader = new RecordReader(new MemoryStream(bytes));

        Assert.Equal(InputEncoding.Utf16BigEndian, reader.Encoding);
        Assert.Equal("{\"q\": \"发票\"}", Assert.Single(ReadAll(reader)).Text);
    }

    [Theory]
    [InlineData("   \n\n  ")]
    [InlineData("")]
    public void Blank_input_is_empty(string text)
    {
        using var reader = Reader(text);
        Assert.Equal(InputKind.Empty, reader.Kind);
        Assert.Empty(ReadAll(reader));
    }

    [Fact]
    public void A_50_MB_jsonl_record_is_skipped_as_too_large_without_losing_the_next_line()
    {
        var big = BigRecord(50 * 1024 * 1024);
        using var input = new ChunkStream(Chunks(big, "\n{\"after\": true}\n"u8.ToArray()));
        using var reader = new RecordReader(input);

        var records = reader.ReadRecords().Select(r => (r.Location.Line, r.ByteLength, r.IsTruncated, r.Utf8.Length)).ToList();

        Assert.Equal([(1L, (long)big.Sum(c => c.Length), true, 1024), (2L, 15L, false, 15)], records);
    }

    [Fact]
    public void A_50_MB_array_element_is_skipped_as_too_large_and_the_array_continues()
    {
        var big = BigRecord(50 * 1024 * 1024);
        using var input = new ChunkStream(Chunks("[\n"u8.ToArray(), big, ",\n{\"after\": true}]"u8.ToArray()));
        using var reader = new RecordReader(input);

        var records = reader.ReadRecords().Select(r => (r.Location, r.ByteLength, r.IsTruncated)).ToList();

        Assert.Null(reader.Error);
        Assert.Equal(2, records.Count);
        Assert.Equal((new SourceLocation(2, 1, 0), (long)big.Sum(c => c.Length), true), records[0]);
        Assert.Equal((new SourceLocation(3, 1, 1), 15L, false), records[1]);
    }

    [Fact]
    public void A_50_MB_record_is_read_whole_when_the_limit_allows_it()
    {
        var big = BigRecord(50 * 1024 * 1024);
        using var input = new ChunkStream(Chunks(big));
        using var reader = new RecordReader(input, new RecordReaderOptions { MaxRecordBytes = 64 * 1024 * 1024 });

        var record = Assert.Single(reader.ReadRecords().Select(r => (r.ByteLength, r.IsTruncated, Valid: IsJson(r.Utf8))));

        Assert.Equal(((long)big.Sum(c => c.Length), false, true), record);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_1_GiB_input_streams_through_record_by_record(bool asArray)
    {
        const long target = 1L << 30;
        var record = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            instruction = "请问这件商品支持七天无理由退货吗？",
            input = new string('x', 8000),
            output = "支持的，签收后七天内商品完好即可申请退货。",
        }, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        var count = target / (record.Length + (asArray ? 2 : 1)) + 1;
        using var input = new ChunkStream(GigabyteOf(record, count, asArray));
        using var reader = new RecordReader(input);

        long seen = 0, bytes = 0;
        foreach (var r in reader.ReadRecords())
        {
            seen++;
            bytes += r.ByteLength;
            Assert.False(r.IsTruncated);
        }

        Assert.Null(reader.Error);
        Assert.Equal(count, seen);
        Assert.Equal(count * record.Length, bytes);
        Assert.True(input.BytesRead >= target);
    }

    private static IEnumerable<ReadOnlyMemory<byte>> GigabyteOf(byte[] record, long count, bool asArray)
    {
        if (asArray) yield return "[\n"u8.ToArray();
        var separator = asArray ? ",\n"u8.ToArray() : "\n"u8.ToArray();
        for (long i = 0; i < count; i++)
        {
            yield return record;
            if (!asArray || i < count - 1) yield return separator;
        }
        if (asArray) yield return "\n]"u8.ToArray();
    }

    /// <summary>One alpaca record whose output is a string of about <paramref name="size"/> bytes, as chunks.</summary>
    private static ReadOnlyMemory<byte>[] BigRecord(int size)
    {
        var filler = new byte[1024 * 1024];
        Array.Fill(filler, (byte)'a');
        var chunks = new List<ReadOnlyMemory<byte>> { "{\"instruction\": \"总结\", \"input\": \"\", \"output\": \""u8.ToArray() };
        for (var i = 0; i < size / filler.Length; i++) chunks.Add(filler);
        chunks.Add("\"}"u8.ToArray());
        return [.. chunks];
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Chunks(params object[] parts)
    {
        foreach (var part in parts)
        {
            if (part is ReadOnlyMemory<byte>[] many)
                foreach (var c in many) yield return c;
            else
                yield return (byte[])part;
        }
    }

    private static bool IsJson(ReadOnlyMemory<byte> utf8)
    {
        using var document = JsonDocument.Parse(utf8);
        return document.RootElement.GetProperty("output").GetString()!.Length == 50 * 1024 * 1024;
    }
}
