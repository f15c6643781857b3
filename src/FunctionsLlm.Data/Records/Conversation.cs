namespace FunctionsLlm.Data.Records;

/// <summary>
/// The one model every reader produces: ordered chat turns, plus the alpaca fields when the record came as alpaca
/// (the seed template needs them verbatim).
/// </summary>
public sealed class Conversation
{
    private IReadOnlyList<ChatMessage>? _messages;

    private Conversation(RecordFormat format, IReadOnlyList<ChatMessage>? messages, AlpacaRecord? alpaca)
    {
        Format = format;
        _messages = messages;
        Alpaca = alpaca;
    }

    public RecordFormat Format { get; }

    /// <summary>The turns; built on first use for alpaca records (cleaning rarely needs them).</summary>
    public IReadOnlyList<ChatMessage> Messages => _messages ??= Alpaca!.ToMessages();

    public AlpacaRecord? Alpaca { get; }

    /// <summary>The final assistant turn: what the model is trained to answer.</summary>
    public string Answer => Alpaca?.Output ?? Messages[^1].Content;

    public static Conversation FromAlpaca(AlpacaRecord alpaca) => new(RecordFormat.Alpaca, messages: null, alpaca);

    public static Conversation FromMessages(RecordFormat format, IReadOnlyList<ChatMessage> messages) =>
        format == RecordFormat.Alpaca
            ? throw new ArgumentException("Alpaca conversations are built with FromAlpaca.", nameof(format))
            : new Conversation(format, messages, alpaca: null);
}
