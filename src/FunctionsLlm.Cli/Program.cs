using FunctionsLlm.Cli;

return await FlmCli.RunAsync(args, Console.Out, Console.Error);
