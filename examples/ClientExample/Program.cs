// The README's client snippet ("Calling the service"), quoted there exactly between the README markers below (a test
// checks they agree). Run it from the repository's root against a running server:
//   dotnet run --project src/ContributiAutomatici.Server &
//   dotnet run --project examples/ClientExample

// README:begin
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;

using var client = new ContributiClient(new ContributiClientOptions { Address = new Uri("http://127.0.0.1:50051") });
var request = JsonParser.Default.Parse<ScoreWorkRequest>(File.ReadAllText("examples/first-feature.json"));
var response = await client.ScoreWorkAsync(request);
foreach (var role in response.Roles)
    Console.WriteLine($"{role.Role}: {role.TotalPoints} points");
// README:end
