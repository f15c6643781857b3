using System.Text;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.InProcess;
using FunctionsLlm.Serving.Engine;
using Microsoft.Extensions.AI;

namespace FunctionsLlm.Serving.Tests.InProcess;

public class EngineChatClientTests
{
    [Fact]
    public async Task The_chat_client_answers_and_streams_what_the_engine_generates_alone()
    {
        using var engines = new EngineSlot();
        engines.Swap(TestModels.Engine());
        IChatClient client = new EngineChatClient(engines);
        using var served = TestModels.Load();
        var reference = TestModels.Alone(served.ChatPromptIds([("system", "简短回答。"), ("user", "可以开发票吗？")]),
            SamplingOptions.Greedy with { MaxTokens = 9 });
        ChatMessage[] messages = [new(ChatRole.System, "简短回答。"), new(ChatRole.User, "可以开发票吗？")];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 9 };

        var response = await client.GetResponseAsync(messages, options);
        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            streamed.Append(update.Text);
            finish ??= update.FinishReason;
        }

        Assert.Equal(reference.Text, response.Text);
        Assert.Equal(reference.Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(9, response.Usage?.OutputTokenCount);
        Assert.Equal(TestModels.Name, client.GetService<ChatClientMetadata>()?.DefaultModelId);
    }
}
