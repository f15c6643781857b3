using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Trainer.Tests;

public sealed class TrainerSettingsTests
{
    private static TrainerSettings Read(params (string Key, string Value)[] values) =>
        TrainerSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build());

    [Fact]
    public void Defaults_and_values_are_read_from_the_environment_names()
    {
        var settings = Read(("FLM_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"), ("FLM_TRAINER_API_KEY", " k "),
            ("FLM_TRAINER_AUTH_TENANT_ID", "t"), ("FLM_TRAINER_AUTH_AUDIENCE", "api://a"), ("FLM_TRAINER_AUTH_ALLOWED_CALLERS", "x, y,"),
            ("FLM_TRAINER_MAX_CONCURRENT_JOBS", "2"), ("FLM_EVAL_LIMIT", "5"));
        Assert.Equal("k", settings.ApiKey);
        Assert.True(settings.EntraEnabled);
        Assert.Equal(["x", "y"], settings.EntraAllowedCallers);
        Assert.Equal(2, settings.MaxConcurrentJobs);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.ProgressInterval);
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), (settings.JobLease, settings.LeaseTick));
        Assert.Equal((200, 8, (int?)5), (settings.EvalMaxTokens, settings.EvalBatchSize, settings.EvalLimit));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "flm-trainer"), settings.CacheFolder);
        Assert.Equal(0, settings.QuantizeAboveParameters);
        Assert.Equal(3_000_000_000, Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS", "3e9")).QuantizeAboveParameters);
        Assert.Equal(7_000, Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS", "7000")).QuantizeAboveParameters);
    }

    [Fact]
    public void Every_problem_is_named_at_once()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Read(("FLM_TRAINER_MAX_CONCURRENT_JOBS", "-1"), ("FLM_TRAINER_AUTH_TENANT_ID", "t")));
        Assert.Contains("no storage: set FLM_STORAGE_BLOB_URI", e.Message);
        Assert.Contains("FLM_TRAINER_MAX_CONCURRENT_JOBS must be an integer ≥ 0, got '-1'", e.Message);
        Assert.Contains("need both FLM_TRAINER_AUTH_TENANT_ID and FLM_TRAINER_AUTH_AUDIENCE", e.Message);
        foreach (string seconds in new[] { "14", "61" })
        {
            var lease = Assert.Throws<InvalidOperationException>(() => Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_LEASE_SECONDS", seconds)));
            Assert.Contains(seconds == "14" ? "FLM_TRAINER_LEASE_SECONDS must be an integer ≥ 15, got '14'" : "FLM_TRAINER_LEASE_SECONDS must be at most 60", lease.Message);
        }
        var size = Assert.Throws<InvalidOperationException>(() => Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS", "3B")));
        Assert.Contains("FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS must be a whole number of parameters ≥ 0 (e.g. 3000000000 or 3e9), got '3B'", size.Message);
        var two = Assert.Throws<InvalidOperationException>(() => Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_STORAGE_CONNECTION_STRING", "y")));
        Assert.Contains("set only one of", two.Message);
    }

    [Fact]
    public void The_Authority_defaults_to_the_tenants_Entra_endpoint_and_may_be_https_or_loopback_http()
    {
        (string, string)[] entra = [("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_AUTH_TENANT_ID", "t"), ("FLM_TRAINER_AUTH_AUDIENCE", "api://a")];
        Assert.Equal("https://login.microsoftonline.com/t/v2.0", Read(entra).EntraAuthorityAddress);
        foreach (string authority in new[] { "https://login.microsoftonline.us/t/v2.0", "http://127.0.0.1:41234", "http://localhost:5000/", "http://[::1]:8080" })
            Assert.Equal(authority, Read([.. entra, ("FLM_TRAINER_AUTH_AUTHORITY", authority)]).EntraAuthorityAddress);

        foreach (string authority in new[] { "http://login.example.com/t/v2.0", "login.microsoftonline.com/t" })
        {
            var e = Assert.Throws<InvalidOperationException>(() => Read([.. entra, ("FLM_TRAINER_AUTH_AUTHORITY", authority)]));
            Assert.Contains($"FLM_TRAINER_AUTH_AUTHORITY must be an https:// URL (http:// only on a loopback address), got '{authority}'", e.Message);
        }
        var alone = Assert.Throws<InvalidOperationException>(() => Read(("FLM_STORAGE_FOLDER", "/x"), ("FLM_TRAINER_AUTH_AUTHORITY", "https://login.example.com/t")));
        Assert.Contains("FLM_TRAINER_AUTH_AUTHORITY needs FLM_TRAINER_AUTH_TENANT_ID and FLM_TRAINER_AUTH_AUDIENCE", alone.Message);
    }
}
