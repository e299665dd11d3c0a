import CHearingShims
import Synchronization

/// The one shared owner of what the pipeline creates: it keeps the memory budget, a list of
/// the live resources (decoder pools, result buffers, caches), and runs cleanup.
///
/// `ResourceManager.shared` serves the process; tests and embedders may make their own.
public final class ResourceManager: Sendable {
    /// The process-wide manager. Its budget starts with the limit from ``currentMemoryLimit()``
    /// (API, then environment, then cgroup) and the process's resident size at first use.
    public static let shared: ResourceManager = {
        ResourceManager(limit: (try? currentMemoryLimit()) ?? nil)
    }()

    /// Reservations against the limit.
    public let budget: MemoryBudget

    private struct Entry: @unchecked Sendable {
        // `weak` so that a resource's lifetime stays with its owner; the box is Sendable
        // because `ManagedResource` is, and it is only read under the mutex.
        weak var resource: (any ManagedResource)?
    }
    private let entries = Mutex<[Entry]>([])

    /// A manager with its own budget under `limit`.
    public init(limit: MemoryLimit?, baselineBytes: Int = SystemInfo.residentBytes()) {
        self.budget = MemoryBudget(limit: limit, baselineBytes: baselineBytes)
    }

    /// The limit in force, or nil for none.
    public var limit: MemoryLimit? { budget.limit }

    /// Replaces the limit for admissions from now on.
    public func setLimit(_ limit: MemoryLimit?) {
        budget.setLimit(limit)
    }

    /// Starts tracking `resource`.
    public func register(_ resource: any ManagedResource) {
        entries.withLock { entries in
            entries.removeAll { $0.resource == nil }
            entries.append(Entry(resource: resource))
        }
    }

    /// Stops tracking `resource`.
    public func unregister(_ resource: any ManagedResource) {
        entries.withLock { entries in
            entries.removeAll { $0.resource == nil || $0.resource === resource }
        }
    }

    /// The resources alive and tracked now.
    public var resources: [any ManagedResource] {
        entries.withLock { $0.compactMap(\.resource) }
    }

    /// Each tracked resource with the bytes it reports holding.
    public func footprints() async -> [(name: String, bytes: Int)] {
        var result: [(String, Int)] = []
        for resource in resources {
            result.append((resource.resourceName, await resource.footprintBytes()))
        }
        return result
    }

    /// Frees what can be freed — idle decoders, caches, buffers — then returns free heap pages
    /// to the kernel (`malloc_trim`). Returns the megabytes the resident set shrank by,
    /// measured before and after (0 if it did not shrink).
    ///
    /// With `keepingWarm`, idle decoders stay loaded (``ManagedResource/releaseCaches()``):
    /// cleanup between files of a queue that has more work, which would otherwise pay the
    /// model load again for every file. What holds them then decides when they go (the
    /// ingest service: after `idle_release_seconds` without work, under memory pressure, at
    /// shutdown).
    @discardableResult
    public func cleanup(keepingWarm: Bool = false) async -> Double {
        let before = SystemInfo.residentBytes()
        for resource in resources {
            if keepingWarm {
                await resource.releaseCaches()
            } else {
                await resource.releaseIdle()
            }
        }
        _ = CHearingShims_malloc_trim()
        let after = SystemInfo.residentBytes()
        return Double(max(0, before - after)) / 1_048_576
    }

    /// Asks every resource to run less at once.
    public func throttle() async {
        for resource in resources {
            await resource.throttle()
        }
    }
}

/// Frees what the pipeline can free (idle decoders, caches, buffers, then `malloc_trim`) and
/// returns the megabytes actually released, measured from the resident set before and after:
/// PyHearingAI's `cleanup_resources()`.
@discardableResult
public func cleanupResources() async -> Double {
    await ResourceManager.shared.cleanup()
}
