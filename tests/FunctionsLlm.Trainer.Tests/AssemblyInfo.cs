// WebApplicationFactory<Program> finds the host that Program builds through process-wide diagnostics events, so hosts
// started at the same moment by parallel test classes may pick up each other's configuration (the likely cause of a
// 503 seen once on a PUT in the shut-down test while the dead-store API test ran beside it). One test at a time: the
// whole project still runs in well under a minute.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
