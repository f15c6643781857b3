using System.Diagnostics;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Chunked prefill: a prompt longer than <see cref="EngineOptions.PrefillChunkTokens"/> goes in chunk by chunk in its own
/// row after the live ones, each chunk riding along with a decode step (<see cref="StepWithChunk"/>) or, where that
/// does not apply, in a pass of its own between steps (<see cref="PrefillChunk"/>), sized by the <see cref="ChunkPacer"/>.
/// </summary>
public sealed partial class InferenceEngine
{
    /// <summary>
    /// Prefills the next chunk of the long prompt in <see cref="_chunked"/>'s row (all that is left when no other row is
    /// decoding); after the last chunk its first token is chosen and it joins the live rows (moved next to them if rows
    /// retired meanwhile).
    /// </summary>
    private void PrefillChunk()
    {
        var request = _chunked!;
        if (request.IsDone)
        {
            if (request.IsCancelled)
                request.EndCancelled();
            Release(request);
            lock (_queue)
                _chunked = null;
            return;
        }
        var prompt = request.PromptIds;
        if (_chunkedDone == 0)
        {
            _cache.ResetRow(_chunkedRow);
            request.Start(Model);
        }
        // With no sequence decoding there is no one to keep waiting: the rest of the prompt in one pass.
        int rest = prompt.Count - _chunkedDone;
        int count = _pacer.NextChunk(rest, othersDecoding: _rows.Count > 0);
        using (var scope = NewDisposeScope())
        {
            using var row = _cache.Rows(_chunkedRow, 1);
            var input = tensor(prompt.Skip(_chunkedDone).Take(count).Select(id => (long)id).ToArray(), [1, count], ScalarType.Int64);
            Tensor logits;
            long started = Stopwatch.GetTimestamp();
            using (_residency?.Select([request]))
                logits = Model.Model.Forward(input, row, lastPositionOnly: true);
            if (logits.device_type == TorchSharp.DeviceType.CUDA)
                cuda.synchronize();   // the chunk's time, not its launch's
            _pacer.Prefilled(count, Stopwatch.GetElapsedTime(started));
            _chunkedDone += count;
            if (_chunkedDone < prompt.Count)
                return;
            Interlocked.Add(ref _generatedTokens, SequenceRequest.ConsumeRunning(logits, [request]));
        }
        JoinLiveRows(request);
    }

    /// <summary>The prompt prefilled in chunks, its first token chosen, joins the live rows (its row moved next to them).</summary>
    private void JoinLiveRows(SequenceRequest request)
    {
        lock (_queue)
        {
            if (_chunkedRow != _rows.Count)
                _cache.MoveRow(_chunkedRow, _rows.Count);
            _rows.Add(request);
            _chunked = null;
        }
    }

    /// <summary>
    /// The decode step with the long prompt's next chunk riding along in the same pass (<see cref="CausalLM.ForwardRagged"/>),
    /// sized by the pacer within what the step leaves of the managed kernels' 16 rows: it costs the step its tokens' compute
    /// rather than a pass of its own that reads every weight again (bench/README.md, "Chunked prefill"). False, with the
    /// prompt's row at most moved next to the live ones, where that pass does not apply (off the CPU, 16 rows decoding,
    /// an adapter on the head) or fixed chunks were asked for (<see cref="EngineOptions.PrefillChunkStall"/> 0).
    /// </summary>
    private bool StepWithChunk()
    {
        var request = _chunked!;
        int n = _rows.Count;
        if (request.IsDone || _options.PrefillChunkStall == 0 || n >= CausalLM.MaxRaggedTokens)
            return false;
        var prompt = request.PromptIds;
        int count = _pacer.NextRiddenChunk(prompt.Count - _chunkedDone, CausalLM.MaxRaggedTokens - n);
        int[] counts = [.. Enumerable.Repeat(1, n), count];
        if (_chunkedRow != n)
        {
            // Rows retired since the last chunk: the prompt's row moves next to the live ones (PrefillChunk's row too).
            if (_chunkedDone > 0)
                _cache.MoveRow(_chunkedRow, n);
            _chunkedRow = n;
        }
        if (_chunkedDone == 0)
            _cache.ResetRow(n);
        using var scope = NewDisposeScope();
        using var live = _cache.Rows(0, n + 1);
        if (!Model.Model.CanForwardRagged(counts, live))
            return false;
        if (_chunkedDone == 0)
            request.Start(Model);
        long[] tokens = [.. _rows.Select(r => r.NextToken), .. prompt.Skip(_chunkedDone).Take(count).Select(id => (long)id)];
        Tensor logits;
        long started = Stopwatch.GetTimestamp();
        using (_residency?.Select([.. _rows, .. Enumerable.Repeat(request, count)]))   // served adapters pick by token
            logits = Model.Model.ForwardRagged(tokens, counts, live);
        Interlocked.Add(ref _generatedTokens, SequenceRequest.ConsumeRunning(logits.narrow(0, 0, n), _rows));
        _pacer.SteppedWithChunk(count, Stopwatch.GetElapsedTime(started));   // with the rows' sampling, as Step times a step
        _chunkedDone += count;
        Interlocked.Increment(ref _chunksWithSteps);
        if (_chunkedDone < prompt.Count)
            return true;
        Interlocked.Add(ref _generatedTokens, SequenceRequest.ConsumeRunning(logits.narrow(0, n, 1), [request]));
        JoinLiveRows(request);
        return true;
    }
}
