namespace FunctionsLlm.Core;

/// <summary>
/// The storage contract of DESIGN.md: containers and the names of the artifacts in them. Every app builds names here,
/// never by hand, so the Functions apps, the trainer and the embedded runner agree.
/// </summary>
public static class BlobLayout
{
    public const string TrainingData = "training-data";
    public const string Datasets = "datasets";
    public const string Checkpoints = "checkpoints";
    public const string Models = "models";
    public const string Runs = "runs";

    public static IReadOnlyList<string> AllContainers { get; } = [TrainingData, Datasets, Checkpoints, Models, Runs];

    /// <summary>Optional run options uploaded beside the data: <c>training-data/{name}.pipeline.json</c>.</summary>
    public static string PipelineOptions(string uploadName) => $"{uploadName}.pipeline.json";

    /// <summary>Names in the <see cref="Datasets"/> container for one run.</summary>
    public static class Dataset
    {
        public static string Cleaned(string runId) => $"{runId}/cleaned.jsonl";
        public static string Rejected(string runId) => $"{runId}/rejected.jsonl";
        public static string CleaningReport(string runId) => $"{runId}/report.json";
        public static string Train(string runId) => $"{runId}/train.jsonl";
        public static string Eval(string runId) => $"{runId}/eval.jsonl";
        public static string FormatReport(string runId) => $"{runId}/format-report.json";
    }

    /// <summary>Names in the <see cref="Checkpoints"/> container: one folder per trainer job.</summary>
    public static class Checkpoint
    {
        public static string Prefix(string jobId) => $"{jobId}/";
    }

    /// <summary>Names in the <see cref="Models"/> container.</summary>
    public static class Model
    {
        /// <summary>The ModelManifest the inference app follows.</summary>
        public static string Current(string model) => $"{model}/current.json";
        public static string VersionPrefix(string model, string version) => $"{model}/{version}/";

        /// <summary>
        /// The folder under a base model's prefix that holds adapters published for it: <c>{base}adapters/</c>. Not part of
        /// the base: downloads of a model folder skip it (<see cref="Storage.StoreFolders.DownloadFolderAsync"/>), so
        /// publishing an adapter never changes the base's files or fingerprint.
        /// </summary>
        public const string AdaptersFolder = "adapters/";

        /// <summary>Adapters of the base at <paramref name="basePrefix"/> (ending with '/'): <c>{base}adapters/</c>.</summary>
        public static string AdaptersPrefix(string basePrefix) => basePrefix + AdaptersFolder;

        /// <summary>The AdapterManifest inference apps serving that base follow: <c>{base}adapters/{name}/current.json</c>.</summary>
        public static string AdapterCurrent(string basePrefix, string name) => $"{AdaptersPrefix(basePrefix)}{name}/current.json";

        public static string AdapterVersionPrefix(string basePrefix, string name, string version) => $"{AdaptersPrefix(basePrefix)}{name}/{version}/";
    }

    /// <summary>Names in the <see cref="Runs"/> container.</summary>
    public static class Run
    {
        public static string Summary(string runId) => $"{runId}/summary.json";
        public static string ReportPrefix(string runId) => $"{runId}/report/";
    }
}
