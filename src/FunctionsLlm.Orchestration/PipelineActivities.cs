using System.Globalization;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Data.Formatting;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Orchestration;

/// <summary>
/// The pipeline's activities as plain methods: the Functions app's activity triggers call them
/// (<see cref="PipelineFunctions"/>), and the tests register the very same methods in a Durable Task test host.
/// Each is safe to run again (the orchestrator retries): outputs are whole artifacts, replaced atomically.
/// The embedded runner (<c>flm pipeline</c>) registers them too.
/// </summary>
public sealed class PipelineActivities(IArtifactStore store, TrainerClient trainer, RunDefaults defaults)
{
    /// <summary>The merged folder is complete when these are there (and weights: model.safetensors or an index).</summary>
    private static readonly string[] MergedRequired = ["config.json", HfTokenizer.TokenizerFileName];

    /// <summary>Run options: the sidecar <c>training-data/{name}.pipeline.json</c> over the app's defaults.</summary>
    public async Task<RunOptionsResult> LoadOptions(RunSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var sidecar = BlobLayout.PipelineOptions(source.Name);
        if (!await store.ExistsAsync(source.Container, sidecar, cancellationToken).ConfigureAwait(false))
            return new RunOptionsResult(defaults.ToOptions(), null);
        var json = await store.ReadTextAsync(source.Container, sidecar, cancellationToken).ConfigureAwait(false);
        return RunOptionsFile.Apply(json, defaults.ToOptions(), $"{source.Container}/{sidecar}");
    }

    /// <summary>The upload → <c>datasets/{run}/cleaned.jsonl, rejected.jsonl, report.json</c> with FunctionsLlm.Data's cleaner.</summary>
    public async Task<CleanResult> Clean(CleanInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var work = NewWorkFolder();
        try
        {
            var raw = Path.Combine(work, "upload");
            await store.DownloadFileAsync(input.Source.Container, input.Source.Name, raw, cancellationToken).ConfigureAwait(false);
            var output = Path.Combine(work, "out");
            CleaningReport report;
            try
            {
                report = new Cleaner(new CleaningOptions()).CleanFile(raw, output, cancellationToken);
            }
            catch (UnreadableInputException e)
            {
                return new CleanResult(0, 0, 0, "", $"{input.Source.Container}/{input.Source.Name} is unreadable: {e.Message}");
            }
            await Upload(Path.Combine(output, Cleaner.CleanedFile), BlobLayout.Dataset.Cleaned(input.RunId), cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Cleaner.RejectedFile), BlobLayout.Dataset.Rejected(input.RunId), cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Cleaner.ReportFile), BlobLayout.Dataset.CleaningReport(input.RunId), cancellationToken).ConfigureAwait(false);
            var reasons = string.Join(", ", report.Rejected.Select(r =>
                string.Create(CultureInfo.InvariantCulture, $"{Cleaner.ReasonCode(r.Key)}: {r.Value}")));
            return new CleanResult(report.RecordsIn, report.RecordsOut, report.RecordsRejected, reasons, null);
        }
        finally
        {
            DeleteQuietly(work);
        }
    }

    /// <summary><c>cleaned.jsonl</c> → <c>train.jsonl, eval.jsonl, format-rejected.jsonl, format-report.json</c> with the base model's tokenizer.</summary>
    public async Task<FormatResult> Format(FormatInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var work = NewWorkFolder();
        try
        {
            var model = Path.Combine(work, "model");
            var tokenizerJson = input.BaseModelPrefix + HfTokenizer.TokenizerFileName;
            if (!await store.ExistsAsync(BlobLayout.Models, tokenizerJson, cancellationToken).ConfigureAwait(false))
                return new FormatResult(0, 0, 0, $"base model not found: {BlobLayout.Models}/{tokenizerJson} does not exist");
            await store.DownloadFileAsync(BlobLayout.Models, tokenizerJson, Path.Combine(model, HfTokenizer.TokenizerFileName), cancellationToken).ConfigureAwait(false);
            var config = input.BaseModelPrefix + HfTokenizer.ConfigFileName;
            if (await store.ExistsAsync(BlobLayout.Models, config, cancellationToken).ConfigureAwait(false))
                await store.DownloadFileAsync(BlobLayout.Models, config, Path.Combine(model, HfTokenizer.ConfigFileName), cancellationToken).ConfigureAwait(false);
            var cleaned = Path.Combine(work, Cleaner.CleanedFile);
            await store.DownloadFileAsync(BlobLayout.Datasets, BlobLayout.Dataset.Cleaned(input.RunId), cleaned, cancellationToken).ConfigureAwait(false);

            var output = Path.Combine(work, "out");
            FormatReport report;
            try
            {
                var template = input.Template.Equals("seed", StringComparison.OrdinalIgnoreCase) ? PromptTemplate.Seed : PromptTemplate.Chat;
                report = new Formatter(HfTokenizer.Load(model), new FormattingOptions { Template = template })
                    .FormatFile(cleaned, output, cancellationToken);
            }
            catch (Exception e) when (e is TokenizerLoadException or InvalidDataException)
            {
                return new FormatResult(0, 0, 0, $"cannot format with the base model {BlobLayout.Models}/{input.BaseModelPrefix}: {e.Message}");
            }
            await Upload(Path.Combine(output, Formatter.TrainFile), BlobLayout.Dataset.Train(input.RunId), cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Formatter.EvalFile), BlobLayout.Dataset.Eval(input.RunId), cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Formatter.RejectedFile), $"{input.RunId}/{Formatter.RejectedFile}", cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Formatter.TruncatedFile), $"{input.RunId}/{Formatter.TruncatedFile}", cancellationToken).ConfigureAwait(false);
            await Upload(Path.Combine(output, Formatter.ReportFile), BlobLayout.Dataset.FormatReport(input.RunId), cancellationToken).ConfigureAwait(false);
            return new FormatResult(report.Train, report.Eval, report.RecordsRejected, null);
        }
        finally
        {
            DeleteQuietly(work);
        }
    }

    /// <summary><c>PUT /jobs/{id}</c>: idempotent, so a retried or replayed submit finds the job it made.</summary>
    public async Task<JobSnapshot> SubmitJob(SubmitJobInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        return JobSnapshot.From(await trainer.PutJobAsync(input.JobId, input.SpecJson, cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>GET /jobs/{id}</c>.</summary>
    public async Task<JobSnapshot> GetJob(string jobId, CancellationToken cancellationToken = default) =>
        JobSnapshot.From(await trainer.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false));

    /// <summary><c>DELETE /jobs/{id}</c>; false when the trainer does not know the job.</summary>
    public Task<bool> CancelJob(string jobId, CancellationToken cancellationToken = default) =>
        trainer.CancelJobAsync(jobId, cancellationToken);

    /// <summary>
    /// Writes <c>models/{model}/current.json</c> once every required file of the merged folder is there, so a reader
    /// that sees the version finds the whole folder.
    /// </summary>
    public async Task<string> Publish(PublishInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var names = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(BlobLayout.Models, input.MergedPrefix, cancellationToken).ConfigureAwait(false))
            names.Add(item.Name[input.MergedPrefix.Length..]);
        var missing = MergedRequired.Where(n => !names.Contains(n)).ToList();
        if (!names.Contains("model.safetensors") && !names.Contains("model.safetensors.index.json"))
            missing.Add("model.safetensors (or model.safetensors.index.json)");
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"the merged model {BlobLayout.Models}/{input.MergedPrefix} is incomplete: {string.Join(", ", missing)} missing");
        var manifest = new ModelManifest
        {
            Version = input.Version,
            MergedPrefix = input.MergedPrefix,
            BaseModel = input.BaseModelPrefix,
            BaseSha256 = input.BaseSha256,
            MergedSha256 = input.MergedSha256,
            CreatedAt = DateTimeOffset.UtcNow,
            EvalLoss = input.EvalLoss,
        };
        return await WriteManifestAsync(manifest, BlobLayout.Model.Current(input.ModelName), "model", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies the best candidate's PEFT adapter (adapter_config.json, adapter_model.safetensors) to
    /// <c>models/{base}adapters/{name}/{version}/</c>, then writes the <see cref="AdapterManifest"/>
    /// <c>models/{base}adapters/{name}/current.json</c> that inference apps serving that base follow.
    /// </summary>
    public async Task<string> PublishAdapter(PublishAdapterInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        string target = BlobLayout.Model.AdapterVersionPrefix(input.BaseModelPrefix, input.AdapterName, input.Version);
        foreach (string file in AdapterFiles)
        {
            string source = input.CheckpointPrefix + file;
            if (!await store.ExistsAsync(BlobLayout.Checkpoints, source, cancellationToken).ConfigureAwait(false))
                throw new InvalidOperationException($"the adapter {BlobLayout.Checkpoints}/{input.CheckpointPrefix} is incomplete: {file} missing");
            await using var content = await store.OpenReadAsync(BlobLayout.Checkpoints, source, cancellationToken).ConfigureAwait(false);
            await store.WriteAsync(BlobLayout.Models, target + file, content, cancellationToken).ConfigureAwait(false);
        }
        var manifest = new AdapterManifest
        {
            Version = input.Version,
            AdapterPrefix = target,
            BaseModel = input.BaseModelPrefix,
            BaseSha256 = input.BaseSha256,
            CreatedAt = DateTimeOffset.UtcNow,
            EvalLoss = input.EvalLoss,
        };
        return await WriteManifestAsync(manifest, BlobLayout.Model.AdapterCurrent(input.BaseModelPrefix, input.AdapterName), "adapter", cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Writes a manifest to <c>models/{name}</c> once it is valid; returns where.</summary>
    private async Task<string> WriteManifestAsync<T>(T manifest, string name, string what, CancellationToken cancellationToken) where T : IContract
    {
        var problems = manifest.Validate();
        if (problems.Count > 0)
            throw new InvalidOperationException($"the {what} manifest would be invalid: {string.Join("; ", problems)}");
        await store.WriteJsonAsync(BlobLayout.Models, name, manifest, cancellationToken: cancellationToken).ConfigureAwait(false);
        return $"{BlobLayout.Models}/{name}";
    }

    private static readonly string[] AdapterFiles = ["adapter_config.json", "adapter_model.safetensors"];

    /// <summary>Rewrites <c>runs/{run}/summary.json</c> (the orchestrator builds the RunManifest; this only stores it).</summary>
    public async Task<bool> WriteSummary(SummaryInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        RunManifest.Parse(input.Json, $"summary of {input.RunId}"); // never store an invalid one
        await store.WriteTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(input.RunId), input.Json, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task Upload(string path, string name, CancellationToken cancellationToken) =>
        await store.UploadFileAsync(BlobLayout.Datasets, name, path, cancellationToken).ConfigureAwait(false);

    private static string NewWorkFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "flm-pipeline", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>
/// The sidecar <c>{name}.pipeline.json</c>: <c>{"baseModelPrefix", "template", "modelName", "publish", "export",
/// "hyperparameters", "candidates": [hyperparameters…], "sweep": {"lr": [...], "loraR": [...]}}</c>; <c>publish</c> is
/// <c>merged</c> | <c>adapter</c> | <c>both</c> (<see cref="PublishMode"/>); <c>export</c> lists files to publish beside
/// the merged model, e.g. <c>["gguf-q8_0"]</c> (<see cref="ModelExports"/>). <c>candidates</c> lists the
/// settings to try; otherwise <c>sweep</c> tries every combination of its values over <c>hyperparameters</c>; with
/// neither, one candidate with <c>hyperparameters</c> (the seed's defaults when left out).
/// </summary>
internal static class RunOptionsFile
{
    private sealed record Document
    {
        public string? BaseModelPrefix { get; init; }

        public string? Template { get; init; }

        public string? ModelName { get; init; }

        public string? Publish { get; init; }

        public List<string>? Export { get; init; }

        public Hyperparameters? Hyperparameters { get; init; }

        public List<Hyperparameters>? Candidates { get; init; }

        public Sweep? Sweep { get; init; }
    }

    private sealed record Sweep
    {
        [System.Text.Json.Serialization.JsonPropertyName("lr")]
        public List<double>? LearningRate { get; init; }

        public List<int>? LoraR { get; init; }
    }

    public static RunOptionsResult Apply(string json, RunOptions defaults, string origin)
    {
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(json, JsonDefaults.Compact);
        }
        catch (JsonException e)
        {
            return new RunOptionsResult(null, $"{origin} is not valid run options: {e.Message}");
        }
        if (document is null)
            return new RunOptionsResult(null, $"{origin} is not valid run options: null");
        var seed = document.Hyperparameters ?? new Hyperparameters();
        List<Hyperparameters> candidates;
        if (document.Candidates is { Count: > 0 } listed)
            candidates = listed;
        else if (document.Sweep is { } sweep)
            candidates = [.. from lr in sweep.LearningRate is { Count: > 0 } lrs ? lrs : [seed.LearningRate]
                             from r in sweep.LoraR is { Count: > 0 } rs ? rs : [seed.LoraR]
                             select seed with { LearningRate = lr, LoraR = r }];
        else
            candidates = [seed];
        var problems = candidates.SelectMany((c, i) => (c?.Validate() ?? ["must be an object"]).Select(p => $"candidate {i}: {p}")).ToList();
        var template = document.Template ?? defaults.Template;
        if (template is not ("chat" or "seed"))
            problems.Add($"'template' must be chat or seed (got '{template}')");
        var prefix = document.BaseModelPrefix ?? defaults.BaseModelPrefix;
        if (!prefix.EndsWith('/'))
            prefix += "/";
        // Names from the upload: refused here, at the run's first stage, rather than by the store after training.
        if (ArtifactName.PrefixProblem(prefix) is { } prefixProblem)
            problems.Add($"'baseModelPrefix' {ArtifactName.Quote(prefix)} is not a folder in {BlobLayout.Models}: {prefixProblem}");
        var modelName = document.ModelName ?? defaults.ModelName;
        if ((ArtifactName.SegmentProblem(modelName) ?? ArtifactName.NameProblem(modelName)) is { } nameProblem)
            problems.Add($"'modelName' {ArtifactName.Quote(modelName)} cannot name a model: {nameProblem}");
        var publish = defaults.Publish;
        if (document.Publish is { } publishText && !PublishModes.TryParse(publishText, out publish))
            problems.Add($"'publish' must be merged, adapter or both (got {ArtifactName.Quote(publishText)})");
        if (publish != PublishMode.Merged)
        {
            problems.AddRange(candidates.Select((c, i) => (c, i)).Where(p => p.c?.Full == true)
                .Select(p => $"candidate {p.i}: 'publish' {publish.ToString().ToLowerInvariant()} needs a LoRA adapter, and it trains every parameter (full)"));
        }
        var exports = document.Export ?? [.. defaults.Exports ?? []];
        problems.AddRange(exports.Where(e => !ModelExports.IsKnown(e ?? ""))
            .Select(e => $"'export' has an unknown export {ArtifactName.Quote(e ?? "null")}; known: {string.Join(", ", ModelExports.Known)}"));
        if (problems.Count > 0)
            return new RunOptionsResult(null, $"{origin} is not valid run options: {string.Join("; ", problems)}");
        return new RunOptionsResult(new RunOptions(prefix, template, modelName, candidates, publish, [.. exports.Distinct(StringComparer.Ordinal)]), null);
    }
}
