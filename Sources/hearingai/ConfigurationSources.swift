import Configuration
import Foundation
import HearingAI
import HearingAIOpenAI
import HearingIngest
import HearingPostgres
import SystemPackage

/// The engines this executable can run: the embedded one and the OpenAI-compatible client.
/// A new engine is registered here and nowhere else.
let engines = EngineRegistry.embedded.adding(OpenAIEngine.Factory())

/// The queues this executable can open: SQLite, and PostgreSQL for several nodes. A new
/// backend is registered here and nowhere else.
let queueBackends = QueueBackends.embedded.adding(PostgresJobQueue.Backend())

/// Where a command's configuration comes from, read once: its flags (an in-memory provider),
/// then `HEARINGAI_*` environment variables, then the YAML file when there is one.
struct ConfigurationSources {
    /// Flags, by key.
    let flags: InMemoryProvider
    /// `HEARINGAI_` + the key in upper case.
    let environmentVariables: KeyMappingProvider<EnvironmentVariablesProvider>
    /// The YAML file and its path, if any.
    let file: (provider: FileProvider<YAMLSnapshot>, path: String)?
    /// The process's environment, for the variables keys fall back to (`OPENAI_API_KEY`).
    let environment: [String: String]
    /// All of them, in order of precedence.
    let reader: ConfigReader

    /// Reads `file` (if given) and assembles the providers over `flags`.
    static func load(
        flags: [ConfigurationKey: ConfigContent], file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ConfigurationSources {
        let flagValues = Dictionary(
            uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key.name]), ConfigValue($0.value, isSecret: $0.key.isSecret)) })
        let flagProvider = InMemoryProvider(name: "flags", values: flagValues)
        let environmentProvider = EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "hearingai")
        var loaded: (FileProvider<YAMLSnapshot>, String)?
        if let path = file {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw HearingAIError(.invalidOptions, path: path, reason: "configuration file not found or unreadable")
            }
            do {
                loaded = (try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)), path)
            } catch {
                throw HearingAIError(.invalidOptions, path: path, reason: "not valid YAML configuration: \(error)")
            }
        }
        var providers: [any ConfigProvider] = [flagProvider, environmentProvider]
        if let loaded { providers.append(loaded.0) }
        return ConfigurationSources(
            flags: flagProvider, environmentVariables: environmentProvider, file: loaded, environment: environment,
            reader: ConfigReader(providers: providers))
    }

    /// The pipeline's configuration from these sources, with the memory limit's true source.
    func pipeline(defaultFormats: [TranscriptFormat] = [.txt]) throws -> PipelineConfiguration {
        var configuration = try PipelineConfiguration(
            config: reader, engines: engines, environment: environment, defaultFormats: defaultFormats)
        attributeMemoryLimit(&configuration)
        return configuration
    }

    /// Records which source set the memory limit (for `memory.limitSource` in the metadata).
    func attributeMemoryLimit(_ configuration: inout PipelineConfiguration) {
        guard configuration.memoryLimit != nil else { return }
        configuration.memoryLimit?.source = origin(of: PipelineConfiguration.Keys.memoryLimit)
    }

    /// The source `key`'s value comes from: a flag, an environment variable, the file.
    func origin(of key: ConfigurationKey) -> MemoryLimit.Source {
        if (try? ConfigReader(provider: flags).value(for: key)) != nil { return .flag }
        if (try? ConfigReader(provider: environmentVariables).value(for: key)) != nil { return .environment(key.environmentVariable) }
        if let file, (try? ConfigReader(provider: file.provider).value(for: key)) != nil { return .configuration(file.path) }
        let variable = key.environmentFallbacks.first { environment[$0] != nil } ?? key.environmentVariable
        return .environment(variable)
    }

    /// The secrets of the engine `selection` names, read again (a stored configuration has
    /// none).
    func secrets(for selection: EngineSelection) throws -> [String: String] {
        var secrets: [String: String] = [:]
        for key in try engines.factory(named: selection.name).keys where key.isSecret {
            if let value = try reader.value(for: key, environment: environment) { secrets[key.name] = value.description }
        }
        return secrets
    }
}
