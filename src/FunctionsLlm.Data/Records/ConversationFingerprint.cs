using System.Security.Cryptography;
using System.Text;

namespace FunctionsLlm.Data.Records;

/// <summary>A 128-bit SHA-256 prefix over roles and texts: the identity used for de-duplication and the train/eval split.</summary>
public static class ConversationFingerprint
{
    public static UInt128 Of(Conversation conversation, Func<string, string>? text = null)
    {
        var builder = new StringBuilder();
        foreach (var message in conversation.Messages)
            builder.Append(message.Role).Append('\u0001').Append(text is null ? message.Content : text(message.Content)).Append('\u0002');
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()), hash);
        return new UInt128(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
    }
}
