using System.Text.Json;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Tests.Contracts;

public sealed class TrainingJobSpecTests
{
    // Every field written out, none at its default.
    private const string FullTrainDocument = """
        {
          "kind": "train",
          "baseModelPrefix": "base/qwen2.5-0.5b/",
          "datasetPrefixes": { "train": "r1/train.jsonl", "eval": "r1/eval.jsonl" },
          "hyperparameters": {
            "loraR": 8, "loraAlpha": 16, "loraDropout": 0.1, "useRsLora": true,
            "targetModules": ["q_proj", "v_proj", "gate_proj"],
            "epochs": 2, "maxSteps": 900, "batchSize": 8, "gradAccum": 2, "lr": 1e-4,
            "warmupRatio": 0.1, "warmupSteps": 20, "scheduler": "linear", "maxSeqLen": 1024, "groupByLength": false,
            "loggingSteps": 5, "evalSteps": 100, "saveSteps": 200, "saveTotalLimit": 2, "earlyStoppingPatience": 3,
            "seed": 7, "full": true, "quantize": "none", "gradientCheckpointing": true
          },
          "outputPrefix": "r1-c0/",
          "priority": "ignored: unknown fields are skipped"
        }
        """;

    private const string Minimal = """
        {"kind":"train","baseModelPrefix":"base/qwen/","datasetPrefixes":{"train":"r1/train.jsonl","eval":"r1/eval.jsonl"},
         "hyperparameters":{"loraR":8,"lr":1e-4},"outputPrefix":"r1-c0/"}
        """;

    // The same spec as Minimal: other member order and whitespace, other number spellings, defaults spelled out,
    // explicit nulls, an unknown member.
    private const string MinimalRespelled = """
        {
          "outputPrefix": "r1-c0/",
          "hyperparameters": {
            "lr": 0.0001, "loraAlpha": 32.0, "scheduler": "cosine", "seed": 42, "loraR": 8,
            "targetModules": ["q_proj", "k_proj", "v_proj", "o_proj"], "earlyStoppingPatience": null, "saveTotalLimit": 3
          },
          "adapterPrefix": null,
          "datasetPrefixes": { "eval": "r1/eval.jsonl", "train": "r1/train.jsonl" },
          "baseModelPrefix": "base/qwen/",
          "kind": "train",
          "comment": "not part of the spec"
        }
        """;

    [Fact]
    public void Reads_every_field()
    {
        var spec = TrainingJobSpec.Parse(FullTrainDocument);

        Assert.Equal(JobKind.Train, spec.Kind);
        Assert.Equal("base/qwen2.5-0.5b/", spec.BaseModelPrefix);
        Assert.Equal(new DatasetPrefixes { Train = "r1/train.jsonl", Eval = "r1/eval.jsonl" }, spec.DatasetPrefixes);
        Assert.Null(spec.AdapterPrefix);
        Assert.Equal("r1-c0/", spec.OutputPrefix);
        var h = spec.Hyperparameters;
        Assert.Equal(8, h.LoraR);
        Assert.Equal(16, h.LoraAlpha);
        Assert.Equal(0.1, h.LoraDropout);
        Assert.True(h.UseRsLora);
        Assert.Equal(["q_proj", "v_proj", "gate_proj"], h.TargetModules);
        Assert.Equal(2, h.Epochs);
        Assert.Equal(900, h.MaxSteps);
        Assert.Equal(8, h.BatchSize);
        Assert.Equal(2, h.GradientAccumulation);
        Assert.Equal(1e-4, h.LearningRate);
        Assert.Equal(0.1, h.WarmupRatio);
        Assert.Equal(20, h.WarmupSteps);
        Assert.Equal(SchedulerKind.Linear, h.Scheduler);
        Assert.Equal(1024, h.MaxSequenceLength);
        Assert.False(h.GroupByLength);
        Assert.Equal(5, h.LoggingSteps);
        Assert.Equal(100, h.EvalSteps);
        Assert.Equal(200, h.SaveSteps);
        Assert.Equal(2, h.SaveTotalLimit);
        Assert.Equal(3, h.EarlyStoppingPatience);
        Assert.Equal(7, h.Seed);
        Assert.True(h.Full);
    }

    [Fact]
    public void Writes_the_contract_names_and_reads_back_equal()
    {
        var spec = TrainingJobSpec.Parse(FullTrainDocument);

        var json = JsonSerializer.Serialize(spec, JsonDefaults.Indented);

        Assert.Equal(["kind", "baseModelPrefix", "datasetPrefixes", "hyperparameters", "outputPrefix"], JsonNames.Of(json));
        Assert.Equal(["train", "eval"], JsonNames.Of(json, "datasetPrefixes"));
        Assert.Equal(
        [
            "loraR", "loraAlpha", "loraDropout", "useRsLora", "targetModules", "full", "quantize", "gradientCheckpointing", "epochs", "maxSteps", "batchSize", "gradAccum",
            "lr", "warmupRatio", "warmupSteps", "scheduler", "weightDecay", "adamBeta1", "adamBeta2", "adamEpsilon", "maxGradNorm",
            "maxSeqLen", "groupByLength", "loggingSteps", "evalSteps", "saveSteps", "saveTotalLimit", "earlyStoppingPatience",
            "loadBestModelAtEnd", "seed",
        ], JsonNames.Of(json, "hyperparameters"));
        Assert.Contains("\"kind\": \"train\"", json, StringComparison.Ordinal);
        Assert.Contains("\"scheduler\": \"linear\"", json, StringComparison.Ordinal);
        Assert.Equal(spec, TrainingJobSpec.Parse(json));
    }

    [Fact]
    public void Hyperparameters_left_out_take_the_flm_train_defaults()
    {
        var spec = TrainingJobSpec.Parse("""
            {"kind": "train", "baseModelPrefix": "base/q/", "datasetPrefixes": {"train": "r1/train.jsonl"}, "outputPrefix": "r1-c0/"}
            """);

        var h = spec.Hyperparameters;
        Assert.Equal(16, h.LoraR);
        Assert.Equal(32, h.LoraAlpha);
        Assert.Equal(0.05, h.LoraDropout);
        Assert.False(h.UseRsLora);
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj"], h.TargetModules);
        Assert.Equal(3, h.Epochs);
        Assert.Null(h.MaxSteps);
        Assert.Equal(4, h.BatchSize);
        Assert.Equal(4, h.GradientAccumulation);
        Assert.Equal(2e-4, h.LearningRate);
        Assert.Equal(0.03, h.WarmupRatio);
        Assert.Null(h.WarmupSteps);
        Assert.Equal(SchedulerKind.Cosine, h.Scheduler);
        // transformers' TrainingArguments defaults for the optimizer and clipping
        Assert.Equal((0.0, 0.9, 0.999, 1e-8, 1.0), (h.WeightDecay, h.AdamBeta1, h.AdamBeta2, h.AdamEpsilon, h.MaxGradNorm));
        Assert.True(h.LoadBestModelAtEnd);
        Assert.Equal(512, h.MaxSequenceLength);
        Assert.True(h.GroupByLength);
        Assert.Equal(10, h.LoggingSteps);
        Assert.Equal(500, h.EvalSteps);
        Assert.Equal(500, h.SaveSteps);
        Assert.Equal(3, h.SaveTotalLimit);
        Assert.Null(h.EarlyStoppingPatience);
        Assert.Equal(42, h.Seed);
        Assert.False(h.Full);
        Assert.Null(h.Quantize);   // the trainer's default: none, or nf4 above FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS
        Assert.Null(spec.DatasetPrefixes!.Eval);
    }

    [Fact]
    public void Quantize_names_a_4_bit_type_for_lora_and_not_for_full_training()
    {
        const string Train = """{"kind": "train", "baseModelPrefix": "base/q/", "datasetPrefixes": {"train": "r1/train.jsonl"}, "outputPrefix": "r1-c0/", "hyperparameters": """;
        Assert.Equal(BaseQuantization.Nf4, TrainingJobSpec.Parse(Train + """{"quantize": "nf4"}}""").Hyperparameters.Quantize);
        Assert.Equal(BaseQuantization.Fp4, TrainingJobSpec.Parse(Train + """{"quantize": "fp4"}}""").Hyperparameters.Quantize);
        Assert.Equal(BaseQuantization.None, TrainingJobSpec.Parse(Train + """{"quantize": "none", "full": true}}""").Hyperparameters.Quantize);
        Assert.Contains("'int4' is not one of none, nf4, fp4", Assert.ThrowsAny<Exception>(() => TrainingJobSpec.Parse(Train + """{"quantize": "int4"}}""")).Message, StringComparison.Ordinal);
        Assert.Equal(["'quantize' applies to LoRA training: full-parameter training updates the base weights, which 4 bits cannot hold"],
            new Hyperparameters { Full = true, Quantize = BaseQuantization.Nf4 }.Validate());
    }

    [Fact]
    public void Specs_from_equivalent_documents_are_equal_with_equal_hash_codes()
    {
        var a = TrainingJobSpec.Parse(Minimal);
        var b = TrainingJobSpec.Parse(MinimalRespelled);

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a.Hyperparameters, b.Hyperparameters);
        Assert.Single(new HashSet<TrainingJobSpec> { a, b });
    }

    [Fact]
    public void The_canonical_json_sorts_members_fills_in_defaults_and_leaves_out_nulls()
    {
        var spec = TrainingJobSpec.Parse(MinimalRespelled);

        Assert.Equal(
            """
            {"baseModelPrefix":"base/qwen/","datasetPrefixes":{"eval":"r1/eval.jsonl","train":"r1/train.jsonl"},"hyperparameters":{"adamBeta1":0.9,"adamBeta2":0.999,"adamEpsilon":1E-08,"batchSize":4,"epochs":3,"evalSteps":500,"full":false,"gradAccum":4,"gradientCheckpointing":false,"groupByLength":true,"loadBestModelAtEnd":true,"loggingSteps":10,"loraAlpha":32,"loraDropout":0.05,"loraR":8,"lr":0.0001,"maxGradNorm":1,"maxSeqLen":512,"saveSteps":500,"saveTotalLimit":3,"scheduler":"cosine","seed":42,"targetModules":["q_proj","k_proj","v_proj","o_proj"],"useRsLora":false,"warmupRatio":0.03,"weightDecay":0},"kind":"train","outputPrefix":"r1-c0/"}
            """,
            spec.ToCanonicalJson());
    }

    [Theory]
    [InlineData("\"lr\":1e-4", "\"lr\":2e-4")]
    [InlineData("\"loraR\":8", "\"loraR\":16")]
    [InlineData("\"outputPrefix\":\"r1-c0/\"", "\"outputPrefix\":\"r1-c1/\"")]
    [InlineData("\"eval\":\"r1/eval.jsonl\"", "\"eval\":\"r2/eval.jsonl\"")]
    [InlineData("\"lr\":1e-4", "\"lr\":1e-4,\"targetModules\":[\"k_proj\",\"q_proj\",\"v_proj\",\"o_proj\"]")]
    public void A_change_in_any_field_or_in_the_order_of_target_modules_makes_another_spec(string from, string to)
    {
        var changed = Minimal.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Minimal, changed);

        Assert.NotEqual(TrainingJobSpec.Parse(Minimal), TrainingJobSpec.Parse(changed));
    }

    [Fact]
    public void Target_modules_compare_by_content_not_by_reference()
    {
        var a = new Hyperparameters { TargetModules = ["q_proj", "v_proj"] };
        var b = new Hyperparameters { TargetModules = new List<string> { "q_proj", "v_proj" } };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { TargetModules = ["v_proj", "q_proj"] });
    }

    [Fact]
    public void A_valid_spec_of_each_kind_has_no_problems()
    {
        Assert.Empty(TrainingJobSpec.Parse(FullTrainDocument).Validate());
        Assert.Empty(new TrainingJobSpec
        {
            Kind = JobKind.Merge, BaseModelPrefix = "base/q/", AdapterPrefix = "r1-c0/adapter/", OutputPrefix = "support-bot/r1/",
        }.Validate());
        Assert.Empty(new TrainingJobSpec
        {
            Kind = JobKind.Evaluate, BaseModelPrefix = "base/q/", ModelPrefix = "support-bot/r1/", AdapterPrefix = "r1-c0/adapter/",
            DatasetPrefixes = new DatasetPrefixes { Eval = "r1/eval.jsonl" }, OutputPrefix = "r1/report/",
        }.Validate());
        // The adapter only lends an evaluation its loss curve.
        Assert.Empty(new TrainingJobSpec
        {
            Kind = JobKind.Evaluate, BaseModelPrefix = "base/q/", ModelPrefix = "support-bot/r1/",
            DatasetPrefixes = new DatasetPrefixes { Eval = "r1/eval.jsonl" }, OutputPrefix = "r1/report/",
        }.Validate());
    }

    [Fact]
    public void Exports_are_for_merge_jobs_and_known_ones_only()
    {
        var merge = new TrainingJobSpec
        {
            Kind = JobKind.Merge, BaseModelPrefix = "base/q/", AdapterPrefix = "r1-c0/adapter/", OutputPrefix = "support-bot/r1/", Exports = ["gguf-q8_0"],
        };
        Assert.Empty(merge.Validate());
        Assert.Equal(merge, TrainingJobSpec.Parse(merge.ToCanonicalJson()));
        Assert.Contains("\"exports\":[\"gguf-q8_0\"]", merge.ToCanonicalJson(), StringComparison.Ordinal);
        Assert.Equal(["'exports' has an unknown export 'gguf-q4_0'; known: gguf-f32, gguf-f16, gguf-bf16, gguf-q8_0"],
            (merge with { Exports = ["gguf-q4_0"] }).Validate());
        var train = TrainingJobSpec.Parse(FullTrainDocument) with { Exports = ["gguf-q8_0"] };
        Assert.Contains("'exports' is only for merge jobs", train.Validate());
    }

    [Fact]
    public void A_merge_needs_an_adapter()
    {
        var spec = new TrainingJobSpec { Kind = JobKind.Merge, BaseModelPrefix = "base/q/", OutputPrefix = "support-bot/r1/" };

        Assert.Equal(["'adapterPrefix' is required for a merge job"], spec.Validate());
    }

    [Fact]
    public void An_evaluation_needs_the_published_merged_model_and_an_eval_set()
    {
        var spec = new TrainingJobSpec { Kind = JobKind.Evaluate, BaseModelPrefix = "base/q/", OutputPrefix = "r1/report/" };

        Assert.Equal(
        [
            "'modelPrefix' (the merged model the merge job published) is required for an evaluate job",
            "'datasetPrefixes.eval' is required for an evaluate job",
        ], spec.Validate());
    }

    [Fact]
    public void Only_an_evaluation_takes_a_merged_model()
    {
        var spec = new TrainingJobSpec
        {
            Kind = JobKind.Merge, BaseModelPrefix = "base/q/", AdapterPrefix = "r1-c0/", ModelPrefix = "support-bot/r1", OutputPrefix = "support-bot/r1/",
        };

        Assert.Equal(["'modelPrefix' is only for evaluate jobs", "'modelPrefix' must end with '/' (got 'support-bot/r1')"], spec.Validate());
    }

    [Fact]
    public void Validate_lists_every_problem_by_its_json_path()
    {
        var spec = TrainingJobSpec.Parse(FullTrainDocument) with
        {
            BaseModelPrefix = "base/q",
            AdapterPrefix = "r0-c0/adapter/",
            OutputPrefix = "",
            Hyperparameters = new Hyperparameters { LearningRate = -1e-4, LoraDropout = 1, TargetModules = [], BatchSize = 0 },
        };

        Assert.Equal(
        [
            "'baseModelPrefix' must end with '/' (got 'base/q')",
            "'adapterPrefix' is only for merge and evaluate jobs",
            "'hyperparameters.loraDropout' must be in [0, 1) (got 1)",
            "'hyperparameters.targetModules' must name at least one module",
            "'hyperparameters.batchSize' must be at least 1 (got 0)",
            "'hyperparameters.lr' must be positive (got -0.0001)",
            "'outputPrefix' is missing",
        ], spec.Validate());
    }

    [Fact]
    public void Prefixes_must_be_valid_artifact_names()
    {
        var spec = new TrainingJobSpec
        {
            Kind = JobKind.Train, BaseModelPrefix = "base/../x/", DatasetPrefixes = new DatasetPrefixes { Train = "r1//train.jsonl" },
            OutputPrefix = "r1-c0/",
        };

        Assert.Equal(
        [
            "'baseModelPrefix' is not a valid artifact name (got 'base/../x/'): empty, '.' and '..' segments are not allowed",
            "'datasetPrefixes.train' is not a valid artifact name (got 'r1//train.jsonl'): empty, '.' and '..' segments are not allowed",
        ], spec.Validate());
    }

    [Fact]
    public void Parse_rejects_an_invalid_spec_with_every_problem()
    {
        var e = Assert.Throws<ContractException>(() => TrainingJobSpec.Parse("""
            {"kind": "merge", "baseModelPrefix": "base/q/", "hyperparameters": {"lr": -1}, "outputPrefix": "m/v1/"}
            """, origin: "PUT /jobs/r1-merge"));

        Assert.Equal(
            "PUT /jobs/r1-merge is not a valid TrainingJobSpec: 'adapterPrefix' is required for a merge job; " +
            "'hyperparameters.lr' must be positive (got -1)",
            e.Message);
    }

    [Fact]
    public void A_missing_kind_is_not_taken_for_the_first_one()
    {
        var e = Assert.Throws<ContractException>(() => TrainingJobSpec.Parse("""
            {"baseModelPrefix": "base/q/", "datasetPrefixes": {"train": "r1/train.jsonl"}, "outputPrefix": "r1-c0/"}
            """));

        Assert.Equal(["'kind' is missing or not one of train, merge, evaluate"], e.Problems);
    }

    [Theory]
    [InlineData("\"finetune\"", "'finetune' is not one of train, merge, evaluate")]
    [InlineData("\"Train\"", "'Train' is not one of train, merge, evaluate")]
    [InlineData("1", "expected a string, one of train, merge, evaluate, got Number")]
    public void An_unknown_kind_is_named_with_the_allowed_ones(string kind, string problem)
    {
        var e = Assert.Throws<ContractException>(() => TrainingJobSpec.Parse(
            $$"""{"kind": {{kind}}, "baseModelPrefix": "base/q/", "datasetPrefixes": {"train": "t.jsonl"}, "outputPrefix": "o/"}"""));

        Assert.Equal(["$.kind: " + problem], e.Problems);
    }

    [Fact]
    public void Each_kind_writes_to_its_container()
    {
        static string Container(JobKind kind) =>
            new TrainingJobSpec { Kind = kind, BaseModelPrefix = "b/", OutputPrefix = "o/" }.OutputContainer;

        Assert.Equal("checkpoints", Container(JobKind.Train));
        Assert.Equal("models", Container(JobKind.Merge));
        Assert.Equal("runs", Container(JobKind.Evaluate));
    }
}
