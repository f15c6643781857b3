using System.Net;
using System.Net.Sockets;

namespace FunctionsLlm.Tests;

/// <summary>
/// A loopback port free right now, for hosts that cannot listen on port 0 and report the port back:
/// DurableTaskTestHost otherwise picks a random one in 30000–40000, which another test may hold.
/// </summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
