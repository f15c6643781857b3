using System.Net;
using System.Net.Sockets;

namespace FunctionsLlm.Core;

/// <summary>
/// A loopback port free right now, for hosts that cannot listen on port 0 and report the port back: the in-process
/// Durable Task engine otherwise picks a random one in 30000–40000, which may be taken.
/// </summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
