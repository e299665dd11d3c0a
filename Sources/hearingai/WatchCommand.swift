import ArgumentParser
import Configuration
import Foundation
import HearingAI
import HearingIngest
import Logging
import ServiceLifecycle
import SystemPackage

/// `hearingai watch`: runs the ingest service until SIGTERM or SIGINT.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch an inbox directory and transcribe every audio file dropped into it."
    )

    @OptionGroup var service: ServiceOptions

    @Option(help: "Output formats for each file (comma-separated).")
    var formats: String?

    @Option(name: .customLong("memory-limit"), help: "Memory limit in MB (0: none).")
    var memoryLimit: Int?

    @Option(name: .customLong("chunk-size"), help: "Nominal chunk length in seconds.")
    var chunkSize: Double?

    @Option(help: "Seconds of overlap on each side of a chunk boundary.")
    var overlap: Double?

    @Option(name: .customLong("max-workers"), help: "Chunks decoded at once (0: the number of cores).")
    var maxWorkers: Int?

    @Option(name: .customLong("cache-dir"), help: "Accepted for symmetry with transcribe; the service checkpoints in its database.")
    var cacheDir: String?

    @Option(name: .customLong("settle-seconds"), help: "How long a file must stay unchanged before it is taken.")
    var settleSeconds: Double?

    @Option(name: .customLong("rescan-seconds"), help: "How often the whole inbox is rescanned.")
    var rescanSeconds: Double?

    @Flag(name: .customLong("poll-only"), help: "Do not use inotify; find files by rescanning (network filesystems).")
    var pollOnly = false

    @OptionGroup(title: "OpenAI-compatible engine")
    var engineOptions: EngineOptions

    @Flag(name: .shortAndLong, help: "Log every chunk.")
    var verbose = false

    func run() async throws {
        bootstrapLogging(level: verbose ? .debug : .info)
        let logger = Logger(label: "hearingai")
        try await CLIFailure.reporting {
            var flags: [String: ConfigValue] = [:]
            if let formats { flags["formats"] = ConfigValue(.string(formats), isSecret: false) }
            if let chunkSize { flags["chunk_size"] = ConfigValue(.double(chunkSize), isSecret: false) }
            if let overlap { flags["overlap"] = ConfigValue(.double(overlap), isSecret: false) }
            if let maxWorkers { flags["max_workers"] = ConfigValue(.int(maxWorkers), isSecret: false) }
            if let cacheDir { flags["cache_dir"] = ConfigValue(.string(cacheDir), isSecret: false) }
            if let settleSeconds { flags["settle_seconds"] = ConfigValue(.double(settleSeconds), isSecret: false) }
            if pollOnly { flags["poll_only"] = ConfigValue(.bool(true), isSecret: false) }
            if let rescanSeconds { flags["rescan_seconds"] = ConfigValue(.double(rescanSeconds), isSecret: false) }
            flags.merge(engineOptions.configurationFlags) { flag, _ in flag }
            let (configuration, fileLimit) = try await service.load(extraFlags: flags)

            let limit = try MemoryLimit.resolve(
                explicit: memoryLimit, explicitSource: .flag,
                configuration: fileLimit.map { ($0, service.configurationFile) })
            ResourceManager.shared.setLimit(limit)

            let ingest = try IngestService(configuration: configuration, logger: logger)
            print("Drop audio files into \(configuration.inbox)")
            print("Transcripts appear in \(configuration.outbox)")
            fflush(nil)
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: ingest, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger))
            try await group.run()
        }
    }
}

/// Where the service's configuration comes from: the shared flags of `watch`, `status` and
/// `jobs`.
struct ServiceOptions: ParsableArguments {
    @Option(help: "The inbox directory.") var inbox: String?
    @Option(help: "The outbox directory.") var outbox: String?
    @Option(help: "Where transcribed sources go.") var processed: String?
    @Option(help: "Where failed sources go.") var failed: String?
    @Option(help: "The SQLite queue.") var database: String?
    @Option(help: "Configuration file (YAML; default /etc/hearingai/hearingai.yaml if present).") var config: String?

    static let systemConfiguration = "/etc/hearingai/hearingai.yaml"

    var configurationFile: String? {
        config ?? (FileManager.default.fileExists(atPath: Self.systemConfiguration) ? Self.systemConfiguration : nil)
    }

    /// Flags over environment (`HEARINGAI_KEY`) over the file over the defaults. Returns the
    /// configuration and the file's own `memory_limit`, for the limit's precedence.
    func load(extraFlags: [String: ConfigValue] = [:]) async throws -> (IngestConfiguration, Int?) {
        var flags = extraFlags
        for (key, value) in [("inbox", inbox), ("outbox", outbox), ("processed", processed), ("failed", failed), ("database", database)] {
            if let value { flags[key] = ConfigValue(.string(value), isSecret: false) }
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key]), $0.value) })),
            EnvironmentVariablesProvider().prefixKeys(with: "hearingai"),
        ]
        var fileLimit: Int?
        if let path = configurationFile {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw IngestError("\(path): configuration file not found or unreadable")
            }
            let file: FileProvider<YAMLSnapshot>
            do {
                file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            } catch {
                throw IngestError("\(path): not valid YAML configuration: \(error)")
            }
            providers.append(file)
            fileLimit = ConfigReader(provider: file).int(forKey: "memory_limit")
        }
        let reader = ConfigReader(providers: providers)
        return (try IngestConfiguration(config: reader, defaultRoot: Self.defaultRoot), fileLimit)
    }

    /// `$XDG_DATA_HOME/hearingai`, or `~/.local/share/hearingai`, or `./hearingai`.
    static var defaultRoot: String {
        XDGDirectory.data.path(appending: "hearingai") ?? FileManager.default.currentDirectoryPath + "/hearingai"
    }
}
