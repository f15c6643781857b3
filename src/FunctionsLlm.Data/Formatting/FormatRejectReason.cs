namespace FunctionsLlm.Data.Formatting;

/// <summary>Why formatting dropped a record (format-rejected.jsonl, snake_case codes).</summary>
public enum FormatRejectReason
{
    /// <summary>The line is not a readable conversation (see the message for the cleaning reason).</summary>
    Unreadable,

    /// <summary>The seed prompt has one instruction and one answer: use --template chat for conversations.</summary>
    MultiTurnNeedsChatTemplate,

    /// <summary>The model's chat template failed on this record (e.g. raise_exception).</summary>
    TemplateError,

    /// <summary>The chat template does not render the answer verbatim, so its tokens cannot be found.</summary>
    AnswerNotRendered,

    /// <summary>The tokenizer's normaliser rewrites the text, so answer tokens cannot be located.</summary>
    TokenizerAltersText,

    /// <summary>With the token limit, no answer token would be left.</summary>
    AnswerTruncated,
}
