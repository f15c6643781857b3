namespace FunctionsLlm.Data.Records;

/// <summary>The record shapes the readers accept; all normalise to a <see cref="Conversation"/>.</summary>
public enum RecordFormat
{
    /// <summary><c>{instruction, input, output, system?, history?}</c> (the seed tutorial's shape, LLaMA-Factory's alpaca).</summary>
    Alpaca,

    /// <summary><c>{messages: [{role, content}]}</c>.</summary>
    OpenAi,

    /// <summary><c>{conversations: [{from, value}]}</c>.</summary>
    ShareGpt,
}
