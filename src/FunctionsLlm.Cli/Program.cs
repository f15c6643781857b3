using FunctionsLlm.Cli;
using FunctionsLlm.Modeling.Runtime;

GcStress.StartIfRequested();

return await FlmCli.RunAsync(args, Console.Out, Console.Error);
