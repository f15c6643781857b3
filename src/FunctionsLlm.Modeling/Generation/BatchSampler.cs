using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// Picks the next id of every row of a batch with batched tensor ops, each row with its own options and generator, in
/// HF's order: repetition penalty, temperature, top-k, top-p, then a draw. A row's pick depends only on its own logits
/// and state, so it is the same alone and in any batch: rows are grouped by what they need (greedy; sampled from the whole
/// vocabulary; sampled from a truncated sorted one) and every op works row by row.
/// </summary>
internal static class BatchSampler
{
    /// <param name="logits">fp32 (rows, vocab).</param>
    public static int[] Next(Tensor logits, IReadOnlyList<TokenSampler> rows)
    {
        if (logits.dim() != 2 || logits.shape[0] != rows.Count)
            throw new ArgumentException($"expected logits of shape ({rows.Count}, vocab), got ({string.Join(", ", logits.shape)})", nameof(logits));
        using var scope = NewDisposeScope();
        if (rows.Any(r => r.Penalises))
            logits = Penalise(logits, rows);
        var ids = new int[rows.Count];
        int[] greedy = [.. Enumerable.Range(0, rows.Count).Where(i => rows[i].Options.IsGreedy)];
        int[] whole = [.. Enumerable.Range(0, rows.Count).Where(i => !rows[i].Options.IsGreedy && !Truncates(rows[i].Options))];
        int[] truncated = [.. Enumerable.Range(0, rows.Count).Where(i => !rows[i].Options.IsGreedy && Truncates(rows[i].Options))];
        if (greedy.Length > 0 && LogitRows.Readable(logits))
        {
            LogitRows.Argmax(logits, greedy, ids);
        }
        else if (greedy.Length > 0)
        {
            Scatter(ids, greedy, Select(logits, greedy).argmax(1));
        }
        if (whole.Length > 0)
            Scatter(ids, whole, DrawFromWhole(Select(logits, whole), [.. whole.Select(i => rows[i])]));
        if (truncated.Length > 0)
            Scatter(ids, truncated, DrawFromTruncated(Select(logits, truncated), [.. truncated.Select(i => rows[i])]));
        return ids;
    }

    private static bool Truncates(SamplingOptions options) => options.TopP < 1 || options.TopK > 0;

    /// <summary>HF/CTRL: a seen token's logit is divided by the penalty when positive, multiplied when not.</summary>
    private static Tensor Penalise(Tensor logits, IReadOnlyList<TokenSampler> rows)
    {
        using var scope = NewDisposeScope();
        // Each row's seen ids, padded by repeating one of them; rows without a penalty use 1, which changes nothing.
        int width = Math.Max(1, rows.Max(r => r.Penalises ? r.Seen.Count : 0));
        var index = new long[rows.Count * width];
        var penalty = new float[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            penalty[r] = rows[r].Penalises ? (float)rows[r].Options.RepetitionPenalty : 1f;
            int[] seen = rows[r].Penalises ? [.. rows[r].Seen] : [];
            for (int j = 0; j < width; j++)
                index[(r * width) + j] = seen.Length == 0 ? 0 : seen[Math.Min(j, seen.Length - 1)];
        }
        var at = tensor(index, [rows.Count, width], ScalarType.Int64, logits.device);
        var factor = tensor(penalty, [rows.Count, 1], ScalarType.Float32, logits.device);
        var gathered = logits.gather(1, at);
        var penalised = where(gathered.gt(Zero), gathered.div(factor), gathered.mul(factor));
        return logits.scatter(1, at, penalised).MoveToOuterDisposeScope();
    }

    private static Tensor DrawFromWhole(Tensor logits, TokenSampler[] rows)
    {
        using var scope = NewDisposeScope();
        var probabilities = Scale(logits, rows).softmax(1);
        return Draw(probabilities, rows, kept: null).MoveToOuterDisposeScope();
    }

    /// <summary>Sorts each row (stable, most likely first), keeps its top-k, renormalises, keeps its top-p, draws.</summary>
    private static Tensor DrawFromTruncated(Tensor logits, TokenSampler[] rows)
    {
        using var scope = NewDisposeScope();
        var (values, indices) = Scale(logits, rows).sort(1, descending: true, stable: true);
        long vocab = values.shape[1];
        using var end = vocab.ToScalar();
        var position = arange(Zero, end, One, ScalarType.Int64, values.device).unsqueeze(0);
        var topK = Column(rows.Select(r => r.Options.TopK > 0 ? (long)r.Options.TopK : vocab).ToArray(), values.device);
        using var minusInfinity = float.NegativeInfinity.ToScalar();
        var probabilities = values.masked_fill(position.ge(topK), minusInfinity).softmax(1);
        // A token is kept while the mass before it is below top-p: the smallest set reaching top-p, at least one.
        var topP = Column(rows.Select(r => r.Options.TopP < 1 ? (float)r.Options.TopP : float.PositiveInfinity).ToArray(), values.device);
        var before = probabilities.cumsum(1).sub(probabilities);
        var keep = before.lt(topP).logical_and(position.lt(topK)).logical_or(position.eq(Zero));
        var kept = keep.sum(1, keepdim: true);
        var picks = Draw(probabilities.masked_fill(keep.logical_not(), Zero), rows, kept);
        return indices.gather(1, picks).MoveToOuterDisposeScope();
    }

    private static Tensor Scale(Tensor logits, TokenSampler[] rows)
    {
        using var temperature = Column(rows.Select(r => (float)r.Options.Temperature).ToArray(), logits.device);
        return logits.div(temperature);
    }

    /// <summary>
    /// For each row, the first position whose running mass exceeds a uniform draw from the row's generator scaled by the
    /// row's total mass; at most the last kept position.
    /// </summary>
    private static Tensor Draw(Tensor mass, TokenSampler[] rows, Tensor? kept)
    {
        using var scope = NewDisposeScope();
        var running = mass.cumsum(1);
        var total = running.narrow(1, running.shape[1] - 1, 1);
        var uniform = Column(rows.Select(r => (float)r.Random.NextDouble()).ToArray(), mass.device);
        var picks = running.le(uniform.mul(total)).sum(1, keepdim: true);
        // A draw that rounds up to the total would count every position.
        if (kept is not null)
            return picks.minimum(kept.sub(One)).MoveToOuterDisposeScope();
        using var lastPosition = (running.shape[1] - 1).ToScalar();
        return picks.clamp_max(lastPosition).MoveToOuterDisposeScope();
    }

    private static Tensor Column(float[] values, Device device) => tensor(values, [values.Length, 1], ScalarType.Float32, device);

    private static Tensor Column(long[] values, Device device) => tensor(values, [values.Length, 1], ScalarType.Int64, device);

    private static Tensor Select(Tensor logits, int[] rows)
    {
        if (rows.Length == logits.shape[0])
            return logits.alias();
        using var index = tensor(rows.Select(r => (long)r).ToArray(), [rows.Length], ScalarType.Int64, logits.device);
        return logits.index_select(0, index);
    }

    private static void Scatter(int[] ids, int[] rows, Tensor picks)
    {
        using var scope = NewDisposeScope();
        long[] values = picks.reshape(-1).cpu().data<long>().ToArray();
        for (int i = 0; i < rows.Length; i++)
            ids[rows[i]] = (int)values[i];
    }
}
