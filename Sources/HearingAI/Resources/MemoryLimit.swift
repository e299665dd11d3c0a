public import Foundation
import Synchronization

/// A memory ceiling for the process, and where it came from.
///
/// Peak resident memory stays at or under it: the pipeline admits a chunk only when its cost
/// fits (see ``MemoryBudget``), and refuses up front a limit too small for one worker.
public struct MemoryLimit: Sendable, Hashable, CustomStringConvertible {
    /// Where a limit was set.
    public struct Source: Hashable, Sendable, Codable, CustomStringConvertible {
        /// "flag", "api", "environment", "configuration" or "cgroup".
        public var kind: String
        /// The variable, file or cgroup path, when there is one.
        public var detail: String?

        /// `--memory-limit` on the command line.
        public static let flag = Source(kind: "flag")
        /// ``setMemoryLimit(megabytes:)``.
        public static let api = Source(kind: "api")
        /// An environment variable.
        public static func environment(_ name: String) -> Source { Source(kind: "environment", detail: name) }
        /// A configuration file key.
        public static func configuration(_ file: String?) -> Source { Source(kind: "configuration", detail: file) }
        /// A cgroup v2 `memory.max` file.
        public static func cgroup(_ file: String) -> Source { Source(kind: "cgroup", detail: file) }

        public var description: String { detail.map { "\(kind) (\($0))" } ?? kind }
    }

    /// The limit in bytes.
    public var bytes: Int
    /// Where it came from.
    public var source: Source

    /// A limit of `megabytes` MiB from `source`.
    public init(megabytes: Int, source: Source) {
        self.bytes = megabytes * 1_048_576
        self.source = source
    }

    /// A limit of `bytes` from `source`.
    public init(bytes: Int, source: Source) {
        self.bytes = bytes
        self.source = source
    }

    /// The limit in whole MiB.
    public var megabytes: Int { bytes / 1_048_576 }

    public var description: String { "\(megabytes) MB from \(source)" }

    /// The environment variables read, in order of precedence.
    public static let environmentVariables = ["HEARINGAI_MEMORY_LIMIT", "PYHEARINGAI_MEMORY_LIMIT"]

    /// The limit in force: the explicit one (command line or API) over the environment over
    /// the configuration file, then the lower of that and the cgroup's `memory.max`.
    /// A value of 0 means "no limit" at that level and stops the search there.
    ///
    /// - Parameters:
    ///   - explicit: `--memory-limit` or ``setMemoryLimit(megabytes:)``, in MB.
    ///   - explicitSource: which of the two `explicit` came from.
    ///   - environment: the process environment.
    ///   - configuration: the configuration file's value, in MB, and the file's path.
    ///   - cgroup: where to find the process's cgroup limit.
    public static func resolve(
        explicit: Int?,
        explicitSource: Source = .flag,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configuration: (megabytes: Int, file: String?)? = nil,
        cgroup: CgroupMemory = CgroupMemory()
    ) throws -> MemoryLimit? {
        var configured: MemoryLimit?
        if let explicit {
            configured = try positive(explicit, explicitSource)
        } else if let (name, value) = environmentVariables.lazy.compactMap({ name in environment[name].map { (name, $0) } }).first {
            guard let megabytes = Int(value.trimmingCharacters(in: .whitespaces)) else {
                throw HearingAIError(.invalidOptions, reason: "\(name)=\(value) is not a whole number of megabytes")
            }
            configured = try positive(megabytes, .environment(name))
        } else if let configuration {
            configured = try positive(configuration.megabytes, .configuration(configuration.file))
        }
        let fromCgroup = cgroup.limit()
        switch (configured, fromCgroup) {
        case let (c?, g?): return g.bytes < c.bytes ? g : c
        case let (c?, nil): return c
        case let (nil, g?): return g
        case (nil, nil): return nil
        }
    }

    private static func positive(_ megabytes: Int, _ source: Source) throws -> MemoryLimit? {
        guard megabytes >= 0 else {
            throw HearingAIError(
                .invalidOptions, reason: "memory limit from \(source) must be 0 (none) or a positive number of MB, got \(megabytes)")
        }
        return megabytes == 0 ? nil : MemoryLimit(megabytes: megabytes, source: source)
    }
}

/// Reads the memory limit of the process's cgroup v2 (systemd's `MemoryMax=`, a container's
/// limit): the lowest `memory.max` from the process's cgroup up to the root.
public struct CgroupMemory: Sendable {
    /// Where the cgroup v2 hierarchy is mounted.
    public var mountPoint: String
    /// The file naming the process's cgroup (`0::/system.slice/x.service`).
    public var membershipFile: String

    /// The live system's files; tests point these at files they control.
    public init(mountPoint: String = "/sys/fs/cgroup", membershipFile: String = "/proc/self/cgroup") {
        self.mountPoint = mountPoint
        self.membershipFile = membershipFile
    }

    /// The lowest limit on the path to the process's cgroup, or nil when there is none.
    public func limit() -> MemoryLimit? {
        guard let membership = try? String(contentsOfFile: membershipFile, encoding: .utf8),
            let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let path = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
        var components = path.split(separator: "/").map(String.init)
        var lowest: MemoryLimit?
        while true {
            let dir = ([mountPoint] + components).joined(separator: "/")
            let file = dir + "/memory.max"
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
                let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                lowest.map({ bytes < $0.bytes }) ?? true
            {
                lowest = MemoryLimit(bytes: bytes, source: .cgroup(file))
            }
            if components.isEmpty { break }
            components.removeLast()
        }
        return lowest
    }
}

/// The limit set through ``setMemoryLimit(megabytes:)``; nil until it is called.
let apiMemoryLimit = Mutex<Int?>(nil)

/// Sets the process-wide memory limit in megabytes (0 removes it), as PyHearingAI's
/// `set_memory_limit`. It takes precedence over the environment and configuration files, and
/// applies to pipelines created afterwards.
public func setMemoryLimit(megabytes: Int) {
    apiMemoryLimit.withLock { $0 = megabytes }
    ResourceManager.shared.setLimit(
        megabytes == 0
            ? CgroupMemory().limit()
            : min(MemoryLimit(megabytes: megabytes, source: .api), CgroupMemory().limit()))
}

private func min(_ a: MemoryLimit, _ b: MemoryLimit?) -> MemoryLimit {
    guard let b, b.bytes < a.bytes else { return a }
    return b
}

/// The limit in force for a new pipeline: the API's, else the environment's, else none, then
/// the lower of that and the cgroup's.
public func currentMemoryLimit() throws -> MemoryLimit? {
    let api = apiMemoryLimit.withLock { $0 }
    return try MemoryLimit.resolve(explicit: api, explicitSource: .api)
}
