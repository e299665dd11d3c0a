import ArgumentParser
import Configuration
import Foundation
import HearingAI
import HearingAPI
import HearingIngest
import HearingMetrics
import HearingWebhooks
import Logging

/// `hearingai watch`: runs the ingest service until SIGTERM or SIGINT.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch an inbox directory and transcribe every audio or video file dropped into it."
    )

    typealias Keys = IngestConfiguration.Keys

    @OptionGroup var service: ServiceOptions

    @Option(name: .key(PipelineConfiguration.Keys.formats), help: "Output formats for each file, comma-separated (default: txt,json).")
    var formats: String?

    @Option(name: .key(Keys.settleSeconds), help: .key(Keys.settleSeconds))
    var settleSeconds: Double?

    @Option(name: .key(Keys.rescanSeconds), help: .key(Keys.rescanSeconds))
    var rescanSeconds: Double?

    @Option(name: .key(Keys.inboxMissingSeconds), help: .key(Keys.inboxMissingSeconds))
    var inboxMissingSeconds: Double?

    @Flag(name: .key(Keys.pollOnly), help: .key(Keys.pollOnly))
    var pollOnly = false

    @Option(name: .key(Keys.webhookURL), help: .key(Keys.webhookURL))
    var webhookURL: [String] = []

    @Option(name: .key(Keys.webhookSecretFile), help: .key(Keys.webhookSecretFile))
    var webhookSecretFile: String?

    @Option(name: .key(APIConfiguration.Keys.listen), help: .key(APIConfiguration.Keys.listen))
    var listen: [String] = []

    @Option(name: .key(APIConfiguration.Keys.tokenFile), help: .key(APIConfiguration.Keys.tokenFile))
    var apiTokenFile: String?

    @Flag(name: .key(APIConfiguration.Keys.insecureNoAuth), help: .key(APIConfiguration.Keys.insecureNoAuth))
    var apiInsecureNoAuth = false

    @Option(name: .key(APIConfiguration.Keys.maxUploadMB), help: .key(APIConfiguration.Keys.maxUploadMB))
    var maxUploadMB: Int?

    @OptionGroup(title: "Transcription")
    var pipeline: PipelineFlags

    @Flag(name: .shortAndLong, help: "Log every chunk.")
    var verbose = false

    func run() async throws {
        bootstrapLogging(level: verbose ? .debug : .info)
        let logger = Logger(label: "hearingai")
        try await CLIFailure.reporting {
            var flags = pipeline.values
            flags[PipelineConfiguration.Keys.formats] = formats.map { .string($0) }
            flags[Keys.settleSeconds] = settleSeconds.map { .double($0) }
            flags[Keys.rescanSeconds] = rescanSeconds.map { .double($0) }
            flags[Keys.inboxMissingSeconds] = inboxMissingSeconds.map { .double($0) }
            if pollOnly { flags[Keys.pollOnly] = .bool(true) }
            if !webhookURL.isEmpty { flags[Keys.webhookURL] = .stringArray(webhookURL) }
            flags[Keys.webhookSecretFile] = webhookSecretFile.map { .string($0) }
            if !listen.isEmpty { flags[APIConfiguration.Keys.listen] = .stringArray(listen) }
            flags[APIConfiguration.Keys.tokenFile] = apiTokenFile.map { .string($0) }
            if apiInsecureNoAuth { flags[APIConfiguration.Keys.insecureNoAuth] = .bool(true) }
            flags[APIConfiguration.Keys.maxUploadMB] = maxUploadMB.map { .int($0) }
            let (configuration, sources) = try await service.load(extraFlags: flags)
            let api = try APIConfiguration(config: sources.reader)

            let limit = try configuration.pipeline.resolvedMemoryLimit()
            ResourceManager.shared.setLimit(limit)

            // Before anything records: the counters are kept from the start, served or not.
            MetricsExposition.bootstrap(version: HearingAIVersion.current)
            let ingest = try await IngestService(
                configuration: configuration, engine: try engines.makeEngine(configuration.pipeline.engine), backends: queueBackends,
                logger: logger,
                webhookSender: HTTPWebhookSender(userAgent: "hearingai/\(HearingAIVersion.current)"))
            // What the HTTP API's `GET /metrics` renders (issue 16): the Prometheus text, with
            // the sampled gauges refreshed from this service first.
            let metrics = MetricsExposition(refresh: { await ingest.sampleMetrics() })
            print("Drop audio files into \(configuration.inbox)")
            print("Transcripts appear in \(configuration.outbox)")
            fflush(nil)
            try await ingest.run { access in
                api.listen.isEmpty
                    ? [] : [APIServer(configuration: api, access: access, metrics: { await metrics.render() }, logger: logger)]
            }
        }
    }
}

/// Where the service's configuration comes from: the shared flags of `watch`, `status` and
/// `jobs`.
struct ServiceOptions: ParsableArguments {
    typealias Keys = IngestConfiguration.Keys

    @Option(name: .key(Keys.inbox), help: .key(Keys.inbox)) var inbox: String?
    @Option(name: .key(Keys.outbox), help: .key(Keys.outbox)) var outbox: String?
    @Option(name: .key(Keys.processed), help: .key(Keys.processed)) var processed: String?
    @Option(name: .key(Keys.failed), help: .key(Keys.failed)) var failed: String?
    @Option(name: .key(Keys.database), help: .key(Keys.database)) var database: String?
    @Option(name: .key(Keys.databasePasswordFile), help: .key(Keys.databasePasswordFile)) var databasePasswordFile: String?
    @Option(name: .key(Keys.nodeName), help: .key(Keys.nodeName)) var nodeName: String?
    @Option(help: "Configuration file (YAML; default /etc/hearingai/hearingai.yaml if present).") var config: String?

    static let systemConfiguration = "/etc/hearingai/hearingai.yaml"

    var configurationFile: String? {
        config ?? (FileManager.default.fileExists(atPath: Self.systemConfiguration) ? Self.systemConfiguration : nil)
    }

    /// Flags over environment (`HEARINGAI_KEY`) over the file over the defaults.
    func load(extraFlags: [ConfigurationKey: ConfigContent] = [:]) async throws -> (IngestConfiguration, ConfigurationSources) {
        var flags = extraFlags
        for (key, value) in [
            (Keys.inbox, inbox), (Keys.outbox, outbox), (Keys.processed, processed), (Keys.failed, failed), (Keys.database, database),
            (Keys.databasePasswordFile, databasePasswordFile), (Keys.nodeName, nodeName),
        ] {
            if let value { flags[key] = .string(value) }
        }
        let sources = try await ConfigurationSources.load(flags: flags, file: configurationFile)
        var configuration = try IngestConfiguration(
            config: sources.reader, engines: engines, defaultRoot: Self.defaultRoot, environment: sources.environment)
        sources.attributeMemoryLimit(&configuration.pipeline)
        return (configuration, sources)
    }

    /// `$XDG_DATA_HOME/hearingai`, or `~/.local/share/hearingai`, or `./hearingai`.
    static var defaultRoot: String {
        XDGDirectory.data.path(appending: "hearingai") ?? FileManager.default.currentDirectoryPath + "/hearingai"
    }
}
