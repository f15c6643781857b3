namespace FunctionsLlm.Data.Cleaning;

/// <summary>Why a record was not kept. Serialised in snake_case (e.g. <c>output_too_short</c>) in rejected.jsonl and report.json.</summary>
public enum RejectReason
{
    /// <summary>Larger than the record byte limit.</summary>
    RecordTooLarge,

    /// <summary>The record's bytes are not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>Not valid JSON (a JSONL line, or the element where a JSON array broke off).</summary>
    JsonSyntax,

    /// <summary>Valid JSON, but not an object.</summary>
    NotAnObject,

    /// <summary>An object with none of instruction/input/output, messages or conversations.</summary>
    UnknownFormat,

    /// <summary>A required field is absent (the seed rule: instruction, input and output must all be present).</summary>
    MissingField,

    /// <summary>A field has the wrong JSON type (a number where text belongs, a non-list history…).</summary>
    WrongType,

    /// <summary>A turn with a role other than system, user or assistant (tool calls, function results).</summary>
    UnsupportedRole,

    /// <summary>Turns out of order: system not first, two user or assistant turns in a row, or no user turn.</summary>
    TurnOrder,

    /// <summary>The conversation does not end with an assistant answer.</summary>
    NoAnswer,

    /// <summary>Control characters (other than tab and line breaks) inside a text: usually a sign of corrupted data.</summary>
    ControlCharacters,

    /// <summary>A turn that is empty once whitespace is stripped.</summary>
    EmptyTurn,

    /// <summary>The answer is shorter than the minimum (10 characters by default, as in the seed).</summary>
    OutputTooShort,

    /// <summary>Prompt plus answer need more tokens than the budget: the answer would be truncated.</summary>
    OverTokenBudget,

    /// <summary>The same conversation as an earlier record, character for character.</summary>
    Duplicate,

    /// <summary>The same conversation as an earlier record once case, whitespace, punctuation and width are ignored.</summary>
    NearDuplicate,
}
