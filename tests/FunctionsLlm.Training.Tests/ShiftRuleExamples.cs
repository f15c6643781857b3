using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Training.Tests;

internal static class ShiftRuleExamples
{
    /// <summary>Prompt → answer pairs with a rule to learn: the answer is the prompt's first tokens shifted by one id, then 511.</summary>
    public static List<TrainingExample> Create(int count, int seed)
    {
        var random = new Random(seed);
        var examples = new List<TrainingExample>();
        for (int i = 0; i < count; i++)
        {
            int promptLength = random.Next(4, 12);
            int[] prompt = [.. Enumerable.Range(0, promptLength).Select(_ => random.Next(10, 400))];
            int[] answer = [.. prompt.Take(4).Select(t => t + 1), 511];
            int[] ids = [.. prompt, .. answer];
            int[] labels = [.. Enumerable.Repeat(TrainingExample.IgnoreIndex, promptLength), .. answer];
            examples.Add(new TrainingExample(ids, labels, i + 1));
        }
        return examples;
    }
}
