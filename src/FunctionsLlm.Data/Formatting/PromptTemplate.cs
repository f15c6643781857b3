namespace FunctionsLlm.Data.Formatting;

public enum PromptTemplate
{
    /// <summary>The original tutorial's prompt: <c>### 指令：</c> / <c>### 输入：</c> / <c>### 输出：</c>, answer, EOS.</summary>
    Seed,

    /// <summary>The model's own chat template (tokenizer_config.json chat_template).</summary>
    Chat,
}
