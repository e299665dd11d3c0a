public import Foundation

/// Finished chunks' words, kept on disk so that an interrupted run resumes where it stopped.
///
/// Entries live under `directory/chunks/KEY/`, where KEY identifies the input (path, size,
/// modification time) and everything that shapes the result (chunking, range, engine, model).
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
        guard fm.fileExists(atPath: directory.path) else { return 0 }
        var bytes: Int64 = 0
        if let walker = fm.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) {
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else { continue }
                bytes += Int64(values.fileSize ?? 0)
            }
        }
        for item in try fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil) {
            try fm.removeItem(at: item)
        }
        return bytes
    }

    /// What an interrupted `hearingai transcribe` run needs to be resumed.
    public struct Manifest: Codable, Sendable, Equatable {
        /// The input file, as an absolute path.
        public var source: String
        /// The command's arguments after the input file (formats, output, options).
        public var arguments: [String]
        /// When the run started.
        public var started: Date

        /// A manifest.
        public init(source: String, arguments: [String], started: Date) {
            self.source = source
            self.arguments = arguments
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

        public func load(chunk index: Int) -> [Word]? {
            guard let data = try? Data(contentsOf: file(index)) else { return nil }
            return try? JSONDecoder().decode([Word].self, from: data)
        }

        public func store(_ words: [Word], chunk index: Int) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(words)
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

    /// A stable key for a run over `path` with `options` on `engine`.
    public static func key(path: String, options: TranscriptionOptions, engine: any TranscriptionEngine) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber,
              let modified = attributes[.modificationDate] as? Date
        else { return nil }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let parts = ["v1", resolved, size.stringValue, String(modified.timeIntervalSince1970), parametersKey(options: options, engine: engine)]
        return fnv1a(parts.joined(separator: "\u{1F}"))
    }

    /// Everything besides the audio that shapes a transcript: chunking, range, engine, model.
    /// Two runs with the same audio and the same key give the same transcript.
    public static func parametersKey(options: TranscriptionOptions, engine: any TranscriptionEngine) -> String {
        let parts = [
            String(options.chunking.chunkSize), String(options.chunking.overlap), String(options.chunking.boundaryWindow),
            String(options.startTime), options.effectiveEndTime.map { String($0) } ?? "end",
            engine.name, engine.modelDescription,
        ]
        return fnv1a(parts.joined(separator: "\u{1F}"))
    }

    /// FNV-1a, 64 bits, as hex: a name for a checkpoint directory, not a security hash.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
