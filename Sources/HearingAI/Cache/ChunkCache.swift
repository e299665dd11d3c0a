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
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("hearingai")
        }
        if let home = env["HOME"], home.hasPrefix("/"), home != "/nonexistent" {
            return URL(fileURLWithPath: home).appendingPathComponent(".cache/hearingai")
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-cache")
    }

    /// The checkpoint area of one run.
    func entry(forKey key: String) -> Entry {
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

    /// One run's checkpoints.
    struct Entry: Sendable {
        let directory: URL

        func load(chunk index: Int) -> [Word]? {
            guard let data = try? Data(contentsOf: file(index)) else { return nil }
            return try? JSONDecoder().decode([Word].self, from: data)
        }

        func store(_ words: [Word], chunk index: Int) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(words)
            try AtomicFile.write(data, to: file(index))
        }

        func remove() {
            try? FileManager.default.removeItem(at: directory)
        }

        private func file(_ index: Int) -> URL {
            directory.appendingPathComponent(String(format: "chunk-%06d.json", index))
        }
    }

    /// A stable key for a run over `path` with `options` on `engine`.
    static func key(path: String, options: TranscriptionOptions, engine: any TranscriptionEngine) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber,
              let modified = attributes[.modificationDate] as? Date
        else { return nil }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let parts = [
            "v1", resolved, size.stringValue, String(modified.timeIntervalSince1970),
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
