using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Cleaning;

/// <summary>The outcome of every file in samples/dirty (see its README).</summary>
public sealed class DirtySampleTests
{
    private static string Dirty(string name) => Path.Combine(RepoPaths.Samples, "dirty", name);

    [Fact]
    public void Missing_fields_follow_the_seed_rule_that_instruction_input_and_output_must_exist()
    {
        var run = CleaningRun.OfFile(Dirty("missing-fields.jsonl"));

        Assert.Equal([(1, "missing_field"), (2, "missing_field"), (3, "missing_field")], run.RejectReasons);
        Assert.Contains("missing input", run.Rejects[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("missing output", run.Rejects[1].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("missing instruction", run.Rejects[2].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Single(run.Kept);
    }

    [Fact]
    public void Wrong_types_are_rejected_with_the_field_and_the_type_found()
    {
        var run = CleaningRun.OfFile(Dirty("wrong-types.jsonl"));

        Assert.All(run.RejectReasons, r => Assert.Equal("wrong_type", r.Reason));
        Assert.Equal([1L, 2, 3, 4, 5, 6], run.RejectReasons.Select(r => r.Line));
        var messages = run.Rejects.Select(r => r.GetProperty("message").GetString()).ToArray();
        Assert.Equal("output must be a string, found a number", messages[0]);
        Assert.Equal("instruction must be a string, found null", messages[1]);
        Assert.Equal("history must be a list of [question, answer] pairs, found a string", messages[2]);
        Assert.Equal("messages must be a list of turns, found a string", messages[3]);
        Assert.Equal("messages[0].content must be a string, found an object", messages[4]);
        Assert.StartsWith("messages[0].content[0] is not a text part", messages[5], StringComparison.Ordinal);
        Assert.Empty(run.Kept);
    }

    [Fact]
    public void Short_outputs_are_measured_in_characters_after_stripping()
    {
        var run = CleaningRun.OfFile(Dirty("short-output.jsonl"));

        Assert.Equal([(1, "output_too_short"), (2, "output_too_short")], run.RejectReasons);
        Assert.Equal("answer has 9 characters; at least 10 required (--min-output-chars)", run.Rejects[1].GetProperty("message").GetString());
        Assert.Equal("😀😀😀😀😀😀😀😀😀😀", Assert.Single(run.Kept).GetProperty("output").GetString());
    }

    [Fact]
    public void Control_characters_are_rejected_with_their_code_and_position()
    {
        var run = CleaningRun.OfFile(Dirty("control-characters.jsonl"));

        Assert.Equal([(1, "control_characters"), (2, "control_characters")], run.RejectReasons);
        Assert.Equal("instruction contains control character U+0007 at position 7", run.Rejects[0].GetProperty("message").GetString());
        Assert.Equal("messages[1].content contains control character U+0000 at position 21", run.Rejects[1].GetProperty("message").GetString());
    }

    [Fact]
    public void Empty_turns_are_rejected()
    {
        var run = CleaningRun.OfFile(Dirty("empty-turns.jsonl"));

        Assert.Equal([(1, "empty_turn"), (2, "empty_turn"), (3, "empty_turn")], run.RejectReasons);
        Assert.Equal("conversations[1].value is empty once whitespace is stripped", run.Rejects[2].GetProperty("message").GetString());
    }

    [Fact]
    public void Duplicates_name_the_first_occurrence()
    {
        var run = CleaningRun.OfFile(Dirty("duplicates.jsonl"));

        Assert.Equal([(2, "duplicate"), (3, "near_duplicate"), (5, "near_duplicate")], run.RejectReasons);
        Assert.Equal("same conversation as line 1", run.Rejects[0].GetProperty("message").GetString());
        Assert.Equal(2, run.Kept.Count);
    }

    [Fact]
    public void Dedup_modes_exact_and_none_keep_what_they_should()
    {
        Assert.Equal(4, CleaningRun.OfFile(Dirty("duplicates.jsonl"), new CleaningOptions { Dedup = DedupMode.Exact }).Kept.Count);
        Assert.Equal(5, CleaningRun.OfFile(Dirty("duplicates.jsonl"), new CleaningOptions { Dedup = DedupMode.None }).Kept.Count);
    }

    [Fact]
    public void A_syntax_error_in_jsonl_rejects_only_that_line()
    {
        var run = CleaningRun.OfFile(Dirty("syntax-errors.jsonl"));

        Assert.Equal([(2, "json_syntax"), (4, "not_an_object"), (5, "unknown_format")], run.RejectReasons);
        Assert.StartsWith("invalid JSON at line 2, column ", run.Rejects[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("{\"instruction\": \"坏掉的行\", \"input\": \"\", \"output\": \"缺少右括号\"", run.Rejects[0].GetProperty("record").GetString());
        Assert.Equal(2, run.Kept.Count);
        Assert.Null(run.Report.StoppedEarly);
    }

    [Fact]
    public void Roles_and_turn_order_are_checked()
    {
        var run = CleaningRun.OfFile(Dirty("roles.jsonl"));

        Assert.Equal(
            [(1, "unsupported_role"), (2, "turn_order"), (3, "no_answer"), (4, "unsupported_role"), (5, "turn_order"), (6, "no_answer")],
            run.RejectReasons);
        Assert.Equal("messages[1].role is 'tool'; supported: system, user, assistant", run.Rejects[0].GetProperty("message").GetString());
    }

    [Fact]
    public void A_truncated_json_array_keeps_the_records_before_the_break_and_says_where()
    {
        var run = CleaningRun.OfFile(Dirty("truncated-array.json"));

        Assert.Equal(2, run.Kept.Count);
        var (line, reason) = Assert.Single(run.RejectReasons);
        Assert.Equal("json_syntax", reason);
        Assert.Equal(12, line);
        Assert.Equal(2, run.Rejects[0].GetProperty("index").GetInt64());
        Assert.NotNull(run.Report.StoppedEarly);
        Assert.Equal(15, run.Report.StoppedEarly.Line); // the file ends inside the record that starts on line 12
        Assert.Equal(InputKind.JsonArray, run.Report.Kind);
    }

    [Fact]
    public void Byte_order_marks_and_utf16_are_read_normally()
    {
        var bom = CleaningRun.OfFile(Dirty("utf8-bom.jsonl"));
        var utf16 = CleaningRun.OfFile(Dirty("utf16.json"));

        Assert.Equal(InputEncoding.Utf8WithBom, bom.Report.Encoding);
        Assert.Equal(InputEncoding.Utf16LittleEndian, utf16.Report.Encoding);
        Assert.Equal("怎么查询物流？", Assert.Single(bom.Kept).GetProperty("instruction").GetString());
        Assert.Equal("怎么查询物流？", Assert.Single(utf16.Kept).GetProperty("instruction").GetString());
    }

    [Fact]
    public void Binary_garbage_is_unreadable_as_a_whole()
    {
        var error = Assert.Throws<UnreadableInputException>(() => CleaningRun.OfFile(Dirty("binary.bin")));
        Assert.Contains("binary", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_file_has_no_records()
    {
        var run = CleaningRun.OfFile(Dirty("empty.jsonl"));

        Assert.Equal(InputKind.Empty, run.Report.Kind);
        Assert.Equal(0, run.Report.RecordsIn);
        Assert.Empty(run.Kept);
    }

    [Fact]
    public void Invalid_utf8_rejects_the_line_and_keeps_its_bytes()
    {
        var run = CleaningRun.OfFile(Dirty("invalid-utf8.jsonl"));

        Assert.Equal([(2, "invalid_utf8")], run.RejectReasons);
        var original = Convert.FromBase64String(run.Rejects[0].GetProperty("recordBase64").GetString()!);
        var secondLine = File.ReadAllBytes(Dirty("invalid-utf8.jsonl")).AsSpan();
        secondLine = secondLine[(secondLine.IndexOf((byte)'\n') + 1)..^1];
        Assert.Equal(secondLine.ToArray(), original);
        Assert.Single(run.Kept);
    }

    [Fact]
    public void Oversized_records_are_rejected_without_being_buffered()
    {
        var run = CleaningRun.OfFile(Dirty("oversized-record.jsonl"), new CleaningOptions { MaxRecordBytes = 2048 });

        Assert.Equal([(1, "record_too_large")], run.RejectReasons);
        Assert.True(run.Rejects[0].GetProperty("recordTruncated").GetBoolean());
        var bytes = File.ReadAllBytes(Dirty("oversized-record.jsonl"));
        Assert.Equal(Array.IndexOf(bytes, (byte)'\n'), run.Rejects[0].GetProperty("recordBytes").GetInt64());
        Assert.Single(run.Kept);
    }

    [Fact]
    public void Answers_over_the_token_budget_are_rejected_when_a_tokenizer_is_given()
    {
        var tokenizer = HfTokenizer.Load(Path.Combine(RepoPaths.Samples, "tokenizer"));
        var run = CleaningRun.OfFile(Dirty("long-answer.jsonl"), new CleaningOptions { CountTokens = tokenizer.CountTokens, MaxTokens = 200 });

        Assert.Equal([(1, "over_token_budget")], run.RejectReasons);
        Assert.Matches(@"^record needs \d+ tokens \(prompt \d+ \+ answer \d+\); the budget is 200 \(--max-tokens\)$",
            run.Rejects[0].GetProperty("message").GetString());
        Assert.Single(run.Kept);
    }

    [Fact]
    public void Pii_masking_replaces_personal_data_but_not_the_service_line()
    {
        var masked = CleaningRun.OfFile(Dirty("pii.jsonl"), new CleaningOptions { MaskPii = true });
        var plain = CleaningRun.OfFile(Dirty("pii.jsonl"));

        Assert.Equal("我的手机号[PHONE]，邮箱[EMAIL]，能帮我改地址吗？", masked.Kept[0].GetProperty("instruction").GetString());
        Assert.Equal("我的身份证号是[ID_NUMBER]，可以实名认证吗？", masked.Kept[1].GetProperty("instruction").GetString());
        Assert.Contains("400-000-0000", masked.Kept[2].GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, masked.Report.Fixes.PiiMasked);
        Assert.Contains("13812345678", plain.Kept[0].GetProperty("instruction").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Fixes_strip_whitespace_normalise_line_endings_and_apply_nfc()
    {
        var run = CleaningRun.OfFile(Dirty("fixes.jsonl"));

        var kept = Assert.Single(run.Kept);
        Assert.Equal("Caf\u00e9 mugs in stock?", kept.GetProperty("instruction").GetString());
        Assert.Equal("Yes, the caf\u00e9 mugs are in stock\nand ship within 24 hours.", kept.GetProperty("output").GetString());
        Assert.Equal(2, run.Report.Fixes.WhitespaceStripped);
        Assert.Equal(1, run.Report.Fixes.LineEndingsNormalized);
        Assert.Equal(2, run.Report.Fixes.NfcNormalized);
    }
}
