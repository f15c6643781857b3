using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Infrastructure.Tests.Apps;

/// <summary>An app's configuration as the deployment gives it, remembering every key the app asks for.</summary>
internal sealed class RecordingConfiguration
{
    private readonly Recorder _recorder;

    public RecordingConfiguration(IReadOnlyDictionary<string, string?> settings)
    {
        _recorder = new Recorder(settings);
        Root = new ConfigurationBuilder().Add(new Source(_recorder)).Build();
    }

    public IConfiguration Root { get; }

    public IReadOnlySet<string> Read => _recorder.Keys;

    private sealed class Source(Recorder recorder) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => recorder;
    }

    private sealed class Recorder : ConfigurationProvider
    {
        private readonly HashSet<string> _keys = new(StringComparer.OrdinalIgnoreCase);

        public Recorder(IReadOnlyDictionary<string, string?> settings)
        {
            foreach (var (key, value) in settings)
                Data[key] = value;
        }

        public IReadOnlySet<string> Keys
        {
            get
            {
                lock (_keys)
                    return new HashSet<string>(_keys, StringComparer.OrdinalIgnoreCase);
            }
        }

        public override bool TryGet(string key, out string? value)
        {
            lock (_keys)
                _keys.Add(key);
            return base.TryGet(key, out value);
        }
    }
}
