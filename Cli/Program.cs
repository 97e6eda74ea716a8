using Deploy.Engine.Cli;

return await DeployCtl.RunAsync(args, new CliHost(Console.Out, Console.Error, Environment.GetEnvironmentVariable));
