import Foundation
import Synchronization
import TestSupport
import Testing

@testable import HearingAI

@Suite("Memory limit")
struct MemoryLimitTests {
    static func cgroup(limits: [String: String], membership: String = "0::/system.slice/hearingai.service\n") throws -> (CgroupMemory, URL)
    {
        let root = try temporaryDirectory()
        for (path, value) in limits {
            let dir = root.appendingPathComponent("mnt").appendingPathComponent(path)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try value.write(to: dir.appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        }
        let membershipFile = root.appendingPathComponent("cgroup")
        try membership.write(to: membershipFile, atomically: true, encoding: .utf8)
        return (CgroupMemory(mountPoint: root.appendingPathComponent("mnt").path, membershipFile: membershipFile.path), root)
    }

    static let noCgroup = CgroupMemory(mountPoint: "/nonexistent", membershipFile: "/nonexistent")

    @Test("Flag or API over HEARINGAI_ over PYHEARINGAI_ over the configuration file")
    func precedence() throws {
        let env = ["HEARINGAI_MEMORY_LIMIT": "300", "PYHEARINGAI_MEMORY_LIMIT": "400"]
        let config = (megabytes: 500, file: Optional("/etc/hearingai/hearingai.yaml"))
        #expect(
            try MemoryLimit.resolve(explicit: 200, environment: env, configuration: config, cgroup: Self.noCgroup)
                == MemoryLimit(megabytes: 200, source: .flag))
        #expect(try MemoryLimit.resolve(explicit: 200, explicitSource: .api, environment: env, cgroup: Self.noCgroup)?.source == .api)
        #expect(
            try MemoryLimit.resolve(explicit: nil, environment: env, configuration: config, cgroup: Self.noCgroup)
                == MemoryLimit(megabytes: 300, source: .environment("HEARINGAI_MEMORY_LIMIT")))
        #expect(
            try MemoryLimit.resolve(
                explicit: nil, environment: ["PYHEARINGAI_MEMORY_LIMIT": "400"], configuration: config, cgroup: Self.noCgroup)
                == MemoryLimit(megabytes: 400, source: .environment("PYHEARINGAI_MEMORY_LIMIT")))
        #expect(
            try MemoryLimit.resolve(explicit: nil, environment: [:], configuration: config, cgroup: Self.noCgroup)
                == MemoryLimit(megabytes: 500, source: .configuration("/etc/hearingai/hearingai.yaml")))
        #expect(try MemoryLimit.resolve(explicit: nil, environment: [:], cgroup: Self.noCgroup) == nil)
    }

    @Test("0 means no limit, and stops lower levels from applying")
    func zeroIsNone() throws {
        #expect(try MemoryLimit.resolve(explicit: 0, environment: ["HEARINGAI_MEMORY_LIMIT": "300"], cgroup: Self.noCgroup) == nil)
        #expect(
            try MemoryLimit.resolve(
                explicit: nil, environment: ["HEARINGAI_MEMORY_LIMIT": "0", "PYHEARINGAI_MEMORY_LIMIT": "300"], cgroup: Self.noCgroup)
                == nil)
    }

    @Test("Bad values are refused, naming where they came from")
    func badValues() {
        #expect(throws: HearingAIError.self) { try MemoryLimit.resolve(explicit: -1, cgroup: Self.noCgroup) }
        do {
            _ = try MemoryLimit.resolve(explicit: nil, environment: ["HEARINGAI_MEMORY_LIMIT": "lots"], cgroup: Self.noCgroup)
            Issue.record("accepted a non-number")
        } catch {
            #expect("\(error)".contains("HEARINGAI_MEMORY_LIMIT=lots"))
        }
    }

    @Test("The cgroup's memory.max caps the limit: the lower of the two is in force")
    func cgroupLimit() throws {
        let (cgroup, root) = try Self.cgroup(limits: [
            "system.slice/hearingai.service": "\(256 * 1_048_576)\n",
            "system.slice": "max\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let fromCgroup = try #require(cgroup.limit())
        #expect(fromCgroup.megabytes == 256)
        #expect(fromCgroup.source.kind == "cgroup")
        #expect(fromCgroup.source.detail?.hasSuffix("system.slice/hearingai.service/memory.max") == true)
        #expect(try MemoryLimit.resolve(explicit: 512, cgroup: cgroup) == fromCgroup)
        #expect(try MemoryLimit.resolve(explicit: 128, cgroup: cgroup) == MemoryLimit(megabytes: 128, source: .flag))
        #expect(try MemoryLimit.resolve(explicit: nil, environment: [:], cgroup: cgroup) == fromCgroup)
    }

    @Test("A parent cgroup's lower limit applies to its children")
    func parentCgroup() throws {
        let (cgroup, root) = try Self.cgroup(limits: [
            "system.slice/hearingai.service": "max\n",
            "system.slice": "\(200 * 1_048_576)\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(cgroup.limit()?.megabytes == 200)
    }

    @Test("The budget admits what fits and refuses the rest")
    func budget() {
        let budget = MemoryBudget(limit: MemoryLimit(megabytes: 100, source: .api), baselineBytes: 20 * 1_048_576, headroomBytes: 0)
        #expect(budget.capacityBytes == 80 * 1_048_576)
        #expect(budget.tryReserve(50 * 1_048_576))
        #expect(!budget.tryReserve(31 * 1_048_576))
        budget.release(50 * 1_048_576)
        #expect(budget.tryReserve(80 * 1_048_576))
        #expect(budget.workersThatFit(perWorker: 30 * 1_048_576) == 2)
        #expect(budget.smallestLimitMB(perWorker: 30 * 1_048_576) == 50)
        #expect(MemoryBudget(limit: nil).tryReserve(Int.max / 2))
    }
}

/// Real decoders; serialised because they measure this process's resident memory.
@Suite("Memory with real decoders", .serialized, .timeLimit(.minutes(10)))
struct MemoryDecoderTests {
    @Test("Under a limit that fits one decoder, a 2-worker request never runs two at once")
    func oneDecoderFits() async throws {
        let engine = PocketSphinxEngine()
        let perWorker =
            engine.decoderCost.footprintBytes + engine.decoderCost.growth(forChunkSeconds: 14) + DecoderCost.chunkBufferBytes(seconds: 14)
        let baseline = SystemInfo.residentBytes()
        let limit = MemoryLimit(bytes: baseline + MemoryBudget.defaultHeadroomBytes + perWorker * 3 / 2, source: .api)
        let resources = ResourceManager(limit: limit, baselineBytes: baseline)
        let options = PipelineConfiguration(chunking: ChunkPlan(chunkSize: 10, overlap: 1), maxWorkers: 2)
        let (transcript, concurrent) = try await pipelineSession(engine: engine, maxWorkers: 2, resources: resources) { session in
            let transcript = try await session.transcribe(Fixtures.path("speech/conversation.wav"), configuration: options)
            return (transcript, await session.orchestrator.transcription.peakConcurrentDecodes)
        }
        #expect(concurrent == 1)
        #expect(transcript.metadata.memory.workersAllowed == 1)
        #expect(transcript.metadata.memory.limitMB == limit.megabytes)
        #expect(transcript.metadata.chunking.chunks > 3)
        #expect(resources.budget.peakReservedBytes <= resources.budget.capacityBytes!)
        #expect(
            transcript.metadata.memory.peakRSSMB * 1_048_576 <= Double(limit.bytes),
            "peak \(transcript.metadata.memory.peakRSSMB) MB over \(limit.megabytes) MB")
    }

    @Test("With room for two, two run at once")
    func twoFit() async throws {
        let resources = ResourceManager(limit: nil)
        let options = PipelineConfiguration(chunking: ChunkPlan(chunkSize: 8, overlap: 1), maxWorkers: 2)
        let concurrent = try await pipelineSession(maxWorkers: 2, resources: resources) { session in
            _ = try await session.transcribe(Fixtures.path("speech/conversation.wav"), configuration: options)
            return await session.orchestrator.transcription.peakConcurrentDecodes
        }
        #expect(concurrent == 2)
    }

    /// Transcribes `count` copies of the short fixture at once through `session`; returns
    /// how many chunks decoded at once at most.
    static func filesAtOnce(_ count: Int, session: PipelineSession) async throws -> Int {
        let path = Fixtures.path("speech/short.wav")
        try await withThrowingTaskGroup(of: Transcript.self) { group in
            for _ in 0..<count {
                group.addTask { try await session.transcribe(path) }
            }
            for try await transcript in group {
                #expect(transcript.metadata.chunking.chunks == 1)
                #expect(transcript.words.count >= 5, "\(transcript.words.map(\.text))")
            }
        }
        return await session.orchestrator.transcription.peakConcurrentDecodes
    }

    @Test("Short files run at once through one orchestrator when two workers fit")
    func filesRunAtOnce() async throws {
        let resources = ResourceManager(limit: nil)
        let concurrent = try await pipelineSession(maxWorkers: 2, resources: resources) { session in
            try await Self.filesAtOnce(4, session: session)
        }
        #expect(concurrent == 2)
    }

    @Test("Under a limit that fits one file, files given at once run one at a time, and none is refused")
    func filesWaitForRoom() async throws {
        let engine = PocketSphinxEngine()
        let plan = PipelineConfiguration().chunking
        let longest = plan.chunkSize + plan.boundaryWindow + 2 * plan.overlap
        let perWorker =
            engine.decoderCost.footprintBytes + engine.decoderCost.growth(forChunkSeconds: longest)
            + DecoderCost.chunkBufferBytes(seconds: longest)
        let diarization = DiarizationService.reservedBytes(forSeconds: 5)
        let baseline = SystemInfo.residentBytes()
        // Room for one file (its diarizer and one worker) and half a worker more: a second file
        // beside it does not fit.
        let limit = MemoryLimit(
            bytes: baseline + MemoryBudget.defaultHeadroomBytes + diarization + perWorker * 3 / 2, source: .api)
        let resources = ResourceManager(limit: limit, baselineBytes: baseline)
        let concurrent = try await pipelineSession(engine: engine, maxWorkers: 2, resources: resources) { session in
            try await Self.filesAtOnce(3, session: session)
        }
        #expect(concurrent == 1)
        #expect(resources.budget.peakReservedBytes <= resources.budget.capacityBytes!)
        #expect(resources.budget.reservedBytes == 0)
    }

    @Test("A session reuses its decoders across files, and cleanup releases a measurable amount")
    func sessionReuseAndCleanup() async throws {
        let resources = ResourceManager(limit: nil)
        let options = PipelineConfiguration(maxWorkers: 1)
        let (created, released, registered) = try await pipelineSession(maxWorkers: 1, resources: resources) { session in
            _ = try await session.transcribe(Fixtures.path("speech/short.wav"), configuration: options)
            _ = try await session.transcribe(Fixtures.path("speech/conversation.wav"), configuration: options)
            _ = try await session.transcribe(Fixtures.path("formats/pcm24.wav"), configuration: options)
            let created = await session.decodersCreated
            let registered = resources.resources.map(\.resourceName)
            let released = await resources.cleanup()
            return (created, released, registered)
        }
        #expect(created == 1)
        #expect(registered == ["transcription(pocketsphinx)"])
        // A decoder is about 91 MB; cleanup frees the idle one and trims the heap.
        #expect(released >= 40, "cleanup released only \(released) MB")
        #expect(resources.resources.isEmpty)
    }

    @Test("A session closes everything when its body throws")
    func sessionClosesOnThrow() async throws {
        let resources = ResourceManager(limit: nil)
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await pipelineSession(maxWorkers: 1, resources: resources) { session in
                _ = try await session.transcribe(Fixtures.path("speech/short.wav"), configuration: PipelineConfiguration(maxWorkers: 1))
                #expect(await session.orchestrator.transcription.pool.liveCount == 1)
                throw Stop()
            }
        }
        #expect(resources.resources.isEmpty)
        #expect(resources.budget.reservedBytes == 0)
    }

    @Test("A limit too small for one worker is refused up front, naming the smallest that works")
    func tooSmall() async throws {
        let resources = ResourceManager(limit: MemoryLimit(megabytes: 64, source: .flag))
        do {
            _ = try await pipelineSession(maxWorkers: 2, resources: resources) { session in
                try await session.transcribe(Fixtures.path("speech/short.wav"))
            }
            Issue.record("a 64 MB limit was accepted")
        } catch let error as HearingAIError {
            #expect(error.code == .memoryLimitTooSmall)
            #expect(error.description.contains("64 MB (flag) is too small for one worker"))
            // The smallest limit is this process's baseline plus one worker (about 114 MB with
            // 30 s chunks), the headroom and diarization; the test process's own baseline
            // depends on what ran before it.
            let smallest = error.reason.split(separator: " ").compactMap { Int($0) }.last ?? 0
            let baseline = resources.budget.baselineBytes / 1_048_576
            #expect((110...140).contains(smallest - baseline), "\(error) (baseline \(baseline) MB)")
            // And that limit is indeed enough: the same file runs under it.
            let enough = ResourceManager(
                limit: MemoryLimit(megabytes: smallest, source: .flag), baselineBytes: resources.budget.baselineBytes)
            let transcript = try await pipelineSession(maxWorkers: 2, resources: enough) { session in
                try await session.transcribe(Fixtures.path("speech/short.wav"))
            }
            #expect(transcript.metadata.memory.workersAllowed == 1)
        }
    }

    @Test("The supervisor calls cleanup, then throttling, while usage stays over the mark")
    func supervisorEscalates() async throws {
        let order = Recorder()
        let limit = MemoryLimit(bytes: SystemInfo.residentBytes(), source: .api)
        let supervisor = ResourceSupervisor(limit: limit, interval: .milliseconds(20), keepSamples: true)
        supervisor.onHighUsage { _ in order.append("cleanup") }
        supervisor.onHighUsage { _ in order.append("throttle") }
        let task = Task { await supervisor.run() }
        try await Task.sleep(for: .milliseconds(150))
        task.cancel()
        await task.value
        #expect(supervisor.interventions >= 1)
        #expect(Array(order.items.prefix(2)) == ["cleanup", "throttle"])
        #expect(supervisor.samples.count >= 2)
        #expect(supervisor.peakResidentBytes > 0)
    }
}

final class Recorder: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ item: String) { storage.withLock { $0.append(item) } }
    var items: [String] { storage.withLock { $0 } }
}
