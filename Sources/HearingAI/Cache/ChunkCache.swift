public import Foundation

/// Finished chunks' words, kept on disk so that an interrupted run resumes where it stopped.
///
/// Entries live under `directory/chunks/KEY/`, where KEY identifies the input (path, size,
/// modification time) and the configuration's fingerprint (everything that shapes the result).
/// A run removes its entries once its transcript is written; what is left belongs to runs that
/// did not finish, and `hearingai cache clean` removes it.
public struct ChunkCache: Sendable {
    /// The cache's root directory.
    public let directory: URL

    /// A cache rooted at `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// `$XDG_CACHE_HOME/hearingai`, or `~/.cache/hearingai`, or the temporary directory.
    public static var defaultDirectory: URL {
        XDGDirectory.cache.path(appending: "hearingai").map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-cache")
    }

    /// The checkpoint area of one run.
    public func entry(forKey key: String) -> Entry {
        Entry(directory: directory.appendingPathComponent("chunks").appendingPathComponent(key))
    }

    /// Removes everything in the cache. Returns the bytes removed.
    @discardableResult
    public func clean() throws -> Int64 {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) else { return 0 }
        guard isDirectory.boolValue else {
            throw HearingAIError(.fileSystem, path: directory.path, reason: "not a directory", errno: ENOTDIR)
        }
        var bytes: Int64 = 0
        if let walker = fm.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) {
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else {
                    continue
                }
                bytes += Int64(values.fileSize ?? 0)
            }
        }
        for item in try fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil) {
            try fm.removeItem(at: item)
        }
        return bytes
    }

    /// What an interrupted `hearingai transcribe` run needs to be resumed: the input, where
    /// the outputs go, and the run's whole configuration (secrets excepted: they are read
    /// again when it resumes).
    public struct Manifest: Codable, Sendable, Equatable {
        /// The input file, as an absolute path.
        public var source: String
        /// `-o`, as an absolute path (with its trailing slash, for a directory), if given.
        public var output: String?
        /// The configuration the run had.
        public var configuration: PipelineConfiguration?
        /// The command's arguments after the input file, as manifests before version 0.2
        /// recorded them instead of the configuration.
        public var arguments: [String]?
        /// When the run started.
        public var started: Date

        /// A manifest.
        public init(source: String, output: String?, configuration: PipelineConfiguration, started: Date) {
            self.source = source
            self.output = output
            self.configuration = configuration
            self.started = started
        }
    }

    /// A checkpointed run: its ID (the cache key), manifest and progress.
    public struct Run: Sendable, Equatable {
        /// The run's ID, for `--resume`.
        public var id: String
        /// What the run was.
        public var manifest: Manifest
        /// Chunks checkpointed so far.
        public var chunksDone: Int
    }

    /// Runs that left checkpoints behind (interrupted or failed), oldest first.
    public func runs() -> [Run] {
        let root = directory.appendingPathComponent("chunks")
        guard let keys = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return keys.compactMap { key -> Run? in
            let entry = self.entry(forKey: key)
            guard let manifest = entry.manifest else { return nil }
            return Run(id: key, manifest: manifest, chunksDone: entry.chunkCount)
        }.sorted { $0.manifest.started < $1.manifest.started }
    }

    /// The run with `id`, if its checkpoints are still here.
    public func run(id: String) -> Run? {
        runs().first { $0.id == id }
    }

    /// One run's checkpoints, as files.
    public struct Entry: ChunkCheckpoints {
        let directory: URL

        public func load(chunk index: Int) -> DecodedChunk? {
            guard let data = try? Data(contentsOf: file(index)) else { return nil }
            return CheckpointCoding.decode(data, chunk: index, logger: nil)
        }

        public func store(_ chunk: DecodedChunk, chunk index: Int) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let data = try CheckpointCoding.encode(chunk)
            try AtomicFile.write(data, to: file(index))
        }

        public func remove() {
            try? FileManager.default.removeItem(at: directory)
        }

        /// The run's manifest, if it was written.
        public var manifest: Manifest? {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")) else { return nil }
            return try? JSONDecoder().decode(Manifest.self, from: data)
        }

        /// Records what the run is, so that it can be listed and resumed.
        public func writeManifest(_ manifest: Manifest) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicFile.write(try JSONEncoder().encode(manifest), to: directory.appendingPathComponent("manifest.json"))
        }

        /// Chunks stored.
        public var chunkCount: Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix("chunk-") }.count
        }

        private func file(_ index: Int) -> URL {
            directory.appendingPathComponent(String(format: "chunk-%06d.json", index))
        }
    }

    /// A stable key for a run over `path` with `configuration`: the file (resolved path, size,
    /// modification time) and the configuration's ``PipelineConfiguration/fingerprint``.
    public static func key(path: String, configuration: PipelineConfiguration) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? NSNumber,
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let parts = [resolved, size.stringValue, String(modified.timeIntervalSince1970), configuration.fingerprint]
        // 16 bytes of the hash are plenty to name a directory, and keep run IDs short to type.
        return String(SHA256.hex(of: Array(parts.joined(separator: "\u{1F}").utf8)).prefix(32))
    }
}
