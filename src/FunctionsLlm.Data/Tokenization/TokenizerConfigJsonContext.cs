using System.Text.Json.Serialization;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>Source-generated (de)serialization, so reading the config also works in trimmed and AOT builds.</summary>
[JsonSerializable(typeof(TokenizerConfig))]
internal sealed partial class TokenizerConfigJsonContext : JsonSerializerContext;
