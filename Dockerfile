# ContributiAutomatici gRPC server (contributi.v1.ScoringService, grpc.health.v1, reflection).
#
#   docker build -t contributi-automatici .
#   docker run --rm -p 50051:50051 -p 50052:50052 contributi-automatici
#   # other rules (e.g. a new decree version): mount them over the baked-in copy
#   docker run --rm -p 50051:50051 -v "$PWD/rules:/app/rules:ro" contributi-automatici
#
# Configuration (environment): Contributi__Port, Contributi__HttpPort, Contributi__Address, Contributi__Rules,
# Contributi__Tls__CertificatePath, Contributi__Tls__CertificatePassword.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files only, so the package layer is cached across source changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ShipCompiledRules.targets src/
COPY src/ContributiAutomatici.Engine/ContributiAutomatici.Engine.csproj src/ContributiAutomatici.Engine/
COPY src/ContributiAutomatici.Contracts/ContributiAutomatici.Contracts.csproj src/ContributiAutomatici.Contracts/
COPY src/ContributiAutomatici.Protocol/ContributiAutomatici.Protocol.csproj src/ContributiAutomatici.Protocol/
COPY src/ContributiAutomatici.Ledger/ContributiAutomatici.Ledger.csproj src/ContributiAutomatici.Ledger/
COPY src/ContributiAutomatici.Server/ContributiAutomatici.Server.csproj src/ContributiAutomatici.Server/
# ReadyToRun: Roslyn (IL only in its NuGet package) is precompiled, which halves the cold start-up that
# compiles the rules (see tests/ContributiAutomatici.Benchmarks/RESULTS.md). linux-x64 images.
RUN dotnet restore src/ContributiAutomatici.Server/ContributiAutomatici.Server.csproj -r linux-x64 -p:PublishReadyToRun=true
COPY protos/ protos/
COPY src/ContributiAutomatici.Engine/ src/ContributiAutomatici.Engine/
COPY src/ContributiAutomatici.Contracts/ src/ContributiAutomatici.Contracts/
COPY src/ContributiAutomatici.Protocol/ src/ContributiAutomatici.Protocol/
COPY src/ContributiAutomatici.Ledger/ src/ContributiAutomatici.Ledger/
COPY src/ContributiAutomatici.Server/ src/ContributiAutomatici.Server/
# The server project copies rules/** into its output: the image carries them at /app/rules. The publish also compiles
# them once into /app/rules-cache, read-only (src/ShipCompiledRules.targets): the container's first start loads its rules
# from there without Roslyn (0.2 s instead of 3-5 s; RESULTS.md (a)). Rules mounted over /app/rules are compiled at start.
COPY rules/ rules/
RUN dotnet publish src/ContributiAutomatici.Server/ContributiAutomatici.Server.csproj \
        -c Release -o /app --no-restore -r linux-x64 --self-contained false \
        -p:PublishReadyToRun=true -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# Bind every interface inside the container (the default outside one is 127.0.0.1 only); rules from /app/rules
# (a mounted volume replaces them); compiled rules cached in the non-root user's own ~/.cache (created 0700;
# never a shared path in /tmp). ASPNETCORE_HTTP_PORTS is cleared: the server binds its own configured port.
ENV Contributi__Address=0.0.0.0 \
    Contributi__Port=50051 \
    Contributi__HttpPort=50052 \
    Contributi__Rules=/app/rules \
    ASPNETCORE_HTTP_PORTS=""
# The image's non-root 'app' user.
USER $APP_UID
# gRPC (h2c), and HTTP/1.1 (REST, /metrics, /healthz, /readyz).
EXPOSE 50051 50052
# The image has no grpcurl: the server executable itself asks grpc.health.v1.Health/Check on the local port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dotnet", "/app/ContributiAutomatici.Server.dll", "--health-check"]
ENTRYPOINT ["dotnet", "/app/ContributiAutomatici.Server.dll"]
