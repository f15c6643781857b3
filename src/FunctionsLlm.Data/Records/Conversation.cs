namespace FunctionsLlm.Data.Records;

/// <summary>
/// The one model every reader produces: ordered chat turns, plus the alpaca fields when the record came as alpaca
/// (the seed template needs them verbatim).
/// </summary>
public sealed class Conversation
{
    private Conversation(RecordFormat format, IReadOnlyList<ChatMessage> messages, AlpacaRecord? alpaca)
    {
        Format = format;
        Messages = messages;
        Alpaca = alpaca;
    }

    public RecordFormat Format { get; }

    public IReadOnlyList<ChatMessage> Messages { get; }

    public AlpacaRecord? Alpaca { get; }

    /// <summary>The final assistant turn: what the model is trained to answer.</summary>
    public string Answer => Messages[^1].Content;

    public static Conversation FromAlpaca(AlpacaRecord alpaca) => new(RecordFormat.Alpaca, alpaca.ToMessages(), alpaca);

    public static Conversation FromMessages(RecordFormat format, IReadOnlyList<ChatMessage> messages) =>
        format == RecordFormat.Alpaca
            ? throw new ArgumentException("Alpaca conversations are built with FromAlpaca.", nameof(format))
            : new Conversation(format, messages, alpaca: null);

    /// <summary>Applies a text transformation to every field (whitespace, NFC, masking) and keeps the shape.</summary>
    public Conversation Map(Func<string, string> text) => Alpaca is not null
        ? FromAlpaca(Alpaca.Map(text))
        : new Conversation(Format, Messages.Select(m => m with { Content = text(m.Content) }).ToArray(), alpaca: null);
}
