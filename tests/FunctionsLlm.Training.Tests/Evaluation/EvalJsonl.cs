using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Training.Tests.Evaluation;

/// <summary>Writes eval.jsonl files in the shape <c>flm format</c> writes, from prompt and answer token ids.</summary>
internal static class EvalJsonl
{
    /// <summary>A record: the prompt unlabelled, then the answer ids labelled with themselves.</summary>
    public static (int[] Ids, int[] Labels) Record(IEnumerable<int> prompt, IEnumerable<int> answer)
    {
        int[] p = [.. prompt], a = [.. answer];
        return ([.. p, .. a], [.. Enumerable.Repeat(TrainingExample.IgnoreIndex, p.Length), .. a]);
    }

    /// <summary>A ChatML record from text, tokenized with the model's own tokenizer; the answer ends with &lt;|im_end|&gt;.</summary>
    public static (int[] Ids, int[] Labels) Chat(HfTokenizer tokenizer, string question, string answer) => Record(
        tokenizer.Encode($"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"),
        [.. tokenizer.Encode(answer), tokenizer.TokenToId("<|im_end|>")!.Value]);

    public static string Write(string path, params (int[] Ids, int[] Labels)[] records)
    {
        File.WriteAllLines(path, records.Select((r, i) =>
            $"{{\"input_ids\":[{string.Join(',', r.Ids)}],\"labels\":[{string.Join(',', r.Labels)}],\"line\":{i + 1},\"coverage\":1.0}}"));
        return path;
    }
}
