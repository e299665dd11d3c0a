import ArgumentParser
import Foundation
import HearingAI

/// `hearingai cache clean`: empties the checkpoint cache.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Manage the chunk checkpoint cache.",
        subcommands: [Clean.self]
    )

    struct Clean: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every chunk checkpoint.")

        @Option(name: .customLong("cache-dir"), help: "The cache directory (default: $XDG_CACHE_HOME/hearingai).")
        var cacheDir: String?

        func run() async throws {
            try await CLIFailure.reporting {
                let cache = ChunkCache(directory: cacheDir.map { URL(fileURLWithPath: $0) } ?? ChunkCache.defaultDirectory)
                do {
                    let bytes = try cache.clean()
                    print("Removed \(bytes / 1024) KiB from \(cache.directory.path)")
                } catch let error as HearingAIError {
                    throw error
                } catch {
                    throw HearingAIError(
                        .fileSystem, path: cache.directory.path, reason: "cannot clean the cache: \(error.localizedDescription)")
                }
            }
        }
    }
}
