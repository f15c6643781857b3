using System.Runtime.InteropServices;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// A token that also fires on SIGTERM (<c>docker stop</c>, <c>kill</c>, systemd), not only on Ctrl+C: the ASP.NET Core
/// hosts these commands start would otherwise take SIGTERM for themselves and leave the command waiting.
/// </summary>
internal sealed class Termination : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _sigterm;

    public Termination(CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;   // this process ends by itself, once the command has cleaned up
            _stop.Cancel();
        });
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        _sigterm.Dispose();
        _stop.Dispose();
    }
}
