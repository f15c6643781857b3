namespace FunctionsLlm.Data.Formatting;

/// <summary>A record rendered for training: the full text and the character ranges whose tokens are learned (answers and their end token).</summary>
public sealed record TrainingText(string Text, IReadOnlyList<Range> AnswerSpans, bool AddSpecialTokens);
