import Foundation
import Synchronization
import TestSupport
import Testing

@testable import HearingAI

/// What libsndfile cannot read, through Debian's real ffmpeg and ffprobe (media/ fixtures).
@Suite("FFmpeg input", .serialized, .timeLimit(.minutes(10)))
struct FFmpegInputTests {
    /// Every file of media/ that holds formats/source.txt's paragraph once, but the two whose
    /// codecs cost words of their own (WMA v2 at 64 kbit/s, AMR-NB).
    static let sameSpeech = ["aac.m4a", "h264.mp4", "video.mov", "opus.mkv", "vp8.webm", "lying-extension.wav", "huge-duration.mkv"]

    static func tools() throws -> FFmpegTools {
        try #require(FFmpegTools.locate(), "ffmpeg and ffprobe must be installed (make test-deps)")
    }

    /// Whether process `pid` is gone (reaped: not even a zombie).
    static func isGone(_ pid: Int32) -> Bool {
        kill(pid, 0) != 0 && errno == ESRCH
    }

    @Test("Every container FFmpeg reads decodes to 16 kHz mono of the speech's length", arguments: sameSpeech + ["wma.wma", "amr.amr"])
    func decodes(name: String) throws {
        let (samples, info) = try AudioInputTests.streamedSamples(Fixtures.path("media/\(name)"))
        let wav = try AudioInputTests.streamedSamples(Fixtures.path("formats/pcm16.wav")).0
        // Encoder delay and padding: AAC adds about 20 ms, AMR works in 20 ms frames.
        #expect(abs(samples - wav) < 16_000 / 5, "\(name): \(samples) samples, the WAV has \(wav)")
        #expect(info.formatName.hasSuffix("(FFmpeg)"), "\(info.formatName)")
    }

    @Test("Each transcribes with WER within 1 point of the same speech as WAV; WMA and AMR-NB have their own figures")
    func accuracy() async throws {
        let reference = try Fixtures.text("media/source.txt")
        let configuration = PipelineConfiguration(maxWorkers: 1, diarization: DiarizationOptions(enabled: false))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await pipelineSession(maxWorkers: 1) { session in
            let wav = try await session.transcribe(Fixtures.path("formats/pcm16.wav"), configuration: configuration)
            let wavWER = wordErrorRate(reference: reference, hypothesis: wav.text)
            for name in Self.sameSpeech {
                let transcript = try await session.transcribe(Fixtures.path("media/\(name)"), configuration: configuration)
                let wer = wordErrorRate(reference: reference, hypothesis: transcript.text)
                #expect(wer <= wavWER + 0.01, "\(name): WER \(wer) against the WAV's \(wavWER): \(transcript.text)")
                #expect(transcript.metadata.inputFormat.hasSuffix("(FFmpeg)"))
                #expect(transcript.metadata.memory.ffmpegPeakRSSMB ?? 0 > 10, "\(name): FFmpeg's footprint was not measured")
            }
            // WMA v2 at 64 kbit/s costs a word of its own ("swimming" heard as "swim and"): the
            // same WMA decoded by ffmpeg to a 48 kHz WAV and read by libsndfile scores the same,
            // so the pipe loses nothing the codec kept.
            let wmaPath = Fixtures.path("media/wma.wma")
            let wma = try await session.transcribe(wmaPath, configuration: configuration)
            let wmaWER = wordErrorRate(reference: reference, hypothesis: wma.text)
            let decoded = dir.appendingPathComponent("wma.wav").path
            let made = try runProcess("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-i", wmaPath, "-c:a", "pcm_f32le", decoded])
            #expect(made.status == 0, "\(made.stderr)")
            let viaWAV = try await session.transcribe(decoded, configuration: configuration)
            let viaWAVWER = wordErrorRate(reference: reference, hypothesis: viaWAV.text)
            #expect(abs(wmaWER - viaWAVWER) <= 0.01, "WMA through the pipe \(wmaWER), through a WAV \(viaWAVWER)")
            #expect(wmaWER <= wavWER + 0.05, "WMA WER \(wmaWER): \(wma.text)")
            // 8 kHz narrow-band speech at 12.2 kbit/s loses much of what the 16 kHz model
            // listens to: docs/benchmarks.md records the figure.
            let amr = try await session.transcribe(Fixtures.path("media/amr.amr"), configuration: configuration)
            let amrWER = wordErrorRate(reference: reference, hypothesis: amr.text)
            print("WER: WAV \(wavWER), WMA \(wmaWER) (as WAV \(viaWAVWER)), AMR-NB \(amrWER)")
            #expect(amrWER < 0.6, "AMR-NB WER \(amrWER): \(amr.text)")
        }
    }

    @Test("Two audio streams: the first by default, --audio-stream 1 the other, 2 is refused naming the count")
    func audioStreams() async throws {
        let path = Fixtures.path("media/two-streams.mkv")
        let configuration = PipelineConfiguration(maxWorkers: 1, diarization: DiarizationOptions(enabled: false))
        try await pipelineSession(maxWorkers: 1) { session in
            let first = try await session.transcribe(path, configuration: configuration)
            var other = configuration
            other.audioStream = 1
            let second = try await session.transcribe(path, configuration: other)
            let firstWER = wordErrorRate(reference: try Fixtures.text("media/source.txt"), hypothesis: first.text)
            let secondWER = wordErrorRate(reference: try Fixtures.text("media/second.txt"), hypothesis: second.text)
            #expect(firstWER < 0.2, "\(first.text)")
            #expect(secondWER < 0.3, "\(second.text)")
            #expect(other.fingerprint != configuration.fingerprint)
            var third = configuration
            third.audioStream = 2
            await #expect(throws: HearingAIError.self) { _ = try await session.transcribe(path, configuration: third) }
        }
        do {
            _ = try AudioStream(path: path, audioStream: 2)
            Issue.record("a third audio stream was found")
        } catch let error as HearingAIError {
            #expect(error.code == .invalidOptions)
            #expect(error.description == "\(path): --audio-stream 2 asks for audio stream 3, but the file has 2 (streams count from 0)")
        }
        // libsndfile's files have one stream.
        #expect(throws: HearingAIError.self) { _ = try AudioStream(path: Fixtures.path("formats/pcm16.wav"), audioStream: 1) }
    }

    @Test(
        "A video without audio, a cut MP4, garbage: one line naming the file, with what FFmpeg said",
        arguments: [
            ("media/no-audio.mp4", HearingAIError.Code.noAudio, "no audio stream (the file holds video (h264))"),
            ("media/truncated.mp4", .truncatedAudio, "the container declares 12.77 s of audio but only"),
            ("bad/random.bin", .notAudio, "ffprobe cannot read it: Invalid data found when processing input"),
            ("bad/notaudio.wav", .notAudio, "not a recognised audio format"),
        ])
    func refused(relative: String, code: HearingAIError.Code, fragment: String) throws {
        let path = Fixtures.path(relative)
        do {
            _ = try AudioInputTests.streamedSamples(path)
            Issue.record("\(relative) was accepted")
        } catch let error as HearingAIError {
            #expect(error.code == code, "\(error)")
            #expect(error.isPermanent)
            #expect(error.description.hasPrefix(path + ": "))
            #expect(error.description.contains(fragment), "\(error)")
            #expect(!error.description.contains("\n"))
            #expect(!error.reason.contains("file:"), "the reason repeats ffmpeg's name for the file: \(error.reason)")
        }
    }

    @Test("Without ffmpeg on PATH: install ffmpeg to read .m4a files")
    func withoutFFmpeg() throws {
        let path = Fixtures.path("media/aac.m4a")
        #expect(throws: HearingAIError(.notAudio, path: path, reason: "not a format libsndfile reads; install ffmpeg to read .m4a files")) {
            _ = try AudioStream(ffmpegPath: path, searchPath: "/nonexistent")
        }
    }

    @Test("--start-time and --end-time seek in FFmpeg and keep the file's clock")
    func range() async throws {
        let path = Fixtures.path("media/h264.mp4")
        let stream = try AudioStream(path: path, startTime: 5, endTime: 9)
        var block: [Int16] = []
        var total = 0
        while try stream.read(into: &block) { total += block.count }
        #expect(abs(total - 4 * 16_000) < 16_000 / 20, "\(total) samples for 4 s")
        #expect(abs(stream.expectedDuration - 4) < 0.01)

        let configuration = PipelineConfiguration(
            maxWorkers: 1, startTime: 5, sampleDuration: 6, diarization: DiarizationOptions(enabled: false))
        let transcript = try await transcribe(path, configuration: configuration)
        #expect(abs(transcript.metadata.duration - 6) < 0.05)
        #expect(!transcript.words.isEmpty)
        #expect(transcript.words.allSatisfy { $0.start >= 5 && $0.end <= 11.1 }, "\(transcript.words.map(\.start))")
    }

    @Test("A header declaring 2,800 hours is not believed: progress, admission and the CPU limit use what the size allows")
    func hugeDeclaredDuration() throws {
        let path = Fixtures.path("media/huge-duration.mkv")
        let stream = try AudioStream(path: path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(stream.expectedDuration <= Double(size) / FFmpegTools.leastBytesPerSecond)
        #expect(DiarizationService.reservedBytes(forSeconds: stream.expectedDuration) == DiarizationService.reservedBytes)
    }

    @Test("A decoder that hangs on a stalled pipe is killed by the watchdog within its bound")
    func stalledFIFO() throws {
        let tools = try Self.tools()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("stalled.mkv").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // The writer gives the first 16 KB of a real file, then stops, holding the FIFO open.
        let source = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("media/opus.mkv")))
        let release = DispatchSemaphore(value: 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = source.prefix(16_384).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            release.wait()
            close(fd)
        }
        writer.start()
        defer { release.signal() }

        let probe = try MediaProbe.run(path: Fixtures.path("media/opus.mkv"), tools: tools, stallTimeout: .seconds(10))
        let decoder = try FFmpegDecoder(
            path: fifo, tools: tools, probe: probe, stream: probe.audioStreams[0], audioStreamIndex: 0, startTime: 0, duration: nil,
            plausibleSeconds: 13, stallTimeout: .seconds(2))
        let pid = decoder.child.pid
        let clock = ContinuousClock()
        let started = clock.now
        var block: [Int16] = []
        var decoded = 0
        do {
            while try decoder.read(into: &block, maxSamples: 8_192) { decoded += block.count }
            Issue.record("the stalled decoder ended normally")
        } catch let error as HearingAIError {
            let elapsed = (clock.now - started).seconds
            #expect(error.code == .decoderInterrupted)
            #expect(!error.isPermanent)
            #expect(error.description.contains("ffmpeg produced nothing for 2 s and was killed"), "\(error)")
            #expect(elapsed >= 2 && elapsed < 6, "killed after \(elapsed) s")
        }
        #expect(decoded > 0, "the part written before the stall was decoded")
        #expect(Self.isGone(pid), "the killed decoder was reaped")
    }

    @Test("A probe that hangs is killed too; interrupting a waiting read kills the child at once")
    func stalledProbeAndInterrupt() throws {
        let tools = try Self.tools()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("silent.m4a").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let release = DispatchSemaphore(value: 0)
        let writer = Thread {
            // Two opens in turn: one for the probe, one for the decoder; neither gets a byte.
            for _ in 0..<2 {
                let fd = open(fifo, O_WRONLY)
                release.wait()
                close(fd)
            }
        }
        writer.start()

        #expect(throws: HearingAIError.self) { _ = try MediaProbe.run(path: fifo, tools: tools, stallTimeout: .seconds(1)) }
        release.signal()

        let probe = try MediaProbe.run(path: Fixtures.path("media/aac.m4a"), tools: tools, stallTimeout: .seconds(10))
        let decoder = try FFmpegDecoder(
            path: fifo, tools: tools, probe: probe, stream: probe.audioStreams[0], audioStreamIndex: 0, startTime: 0, duration: nil,
            plausibleSeconds: 13, stallTimeout: .seconds(60))
        let child = decoder.child
        let pid = child.pid
        Thread {
            Thread.sleep(forTimeInterval: 0.5)
            child.interrupt()
        }.start()
        let clock = ContinuousClock()
        let started = clock.now
        var block: [Int16] = []
        #expect(throws: CancellationError.self) { _ = try decoder.read(into: &block, maxSamples: 8_192) }
        #expect((clock.now - started).seconds < 5)
        #expect(Self.isGone(pid))
        release.signal()
    }

    @Test("FFmpeg killed from outside mid-file: a clear error that may be retried, never a crash")
    func killedFromOutside() throws {
        let stream = try AudioStream(path: Fixtures.path("media/video.mov"))
        let child = try #require(stream.child)
        var block: [Int16] = []
        // FFmpeg has filled the pipe and waits for us to read: it is alive.
        #expect(try stream.read(into: &block))
        #expect(kill(child.pid, SIGKILL) == 0)
        do {
            while try stream.read(into: &block) {}
            Issue.record("the stream ended normally")
        } catch let error as HearingAIError {
            #expect(error.code == .decoderInterrupted)
            #expect(error.description.contains("ffmpeg was killed by signal 9 (Killed) after"), "\(error)")
        }
        #expect(Self.isGone(child.pid))
    }

    @Test("The child is confined: own process group, limits set, only its three descriptors, no environment")
    func confinement() throws {
        let tools = try Self.tools()
        let stream = try AudioStream(path: Fixtures.path("media/aac.m4a"))
        let pid = try #require(stream.child).pid
        #expect(getpgid(pid) == pid)
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let addressSpace = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max address space") })
        #expect(addressSpace.contains("\(FFmpegTools.addressSpaceBytes)"), "\(addressSpace)")
        let core = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        #expect(core.split(separator: " ").contains("0"), "\(core)")
        let cpu = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max cpu time") })
        #expect(cpu.contains("\(FFmpegTools.cpuSeconds(forAudioSeconds: stream.expectedDuration))"), "\(cpu)")
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int($0) }
        // 0-2 and what ffmpeg opened itself (the input file); nothing of ours beyond.
        #expect(Set(descriptors).isSuperset(of: [0, 1, 2]))
        #expect(descriptors.count <= 5, "\(descriptors)")
        let environment = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        #expect(environment.isEmpty)
        #expect(tools.ffmpeg.hasSuffix("/ffmpeg"))
    }

    @Test("The child's memory is reserved while the source is open, released when it closes; closing early kills it")
    func reservation() async throws {
        let budget = MemoryBudget(limit: MemoryLimit(megabytes: 4096, source: .api))
        let source = try await ChunkSource.open(
            path: Fixtures.path("media/aac.m4a"), configuration: PipelineConfiguration(), budget: budget)
        let pid = try #require(source.child).pid
        #expect(source.reservedBytes == FFmpegCost.reservedBytes(codec: "aac"))
        #expect(budget.reservedBytes == source.reservedBytes)
        #expect(try await source.next() != nil)
        source.close()
        #expect(budget.reservedBytes == 0)
        #expect(Self.isGone(pid))

        // A budget with no room for FFmpeg refuses the file before anything runs.
        let tight = MemoryBudget(limit: MemoryLimit(megabytes: 1, source: .api), baselineBytes: 0, headroomBytes: 0)
        await #expect(throws: HearingAIError.self) {
            _ = try await ChunkSource.open(path: Fixtures.path("media/aac.m4a"), configuration: PipelineConfiguration(), budget: tight)
        }
        #expect(tight.reservedBytes == 0)
    }

    @Test("Checkpoints of an FFmpeg input are reused by a second run: the same chunks, the same transcript")
    func checkpoints() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = ChunkCache(directory: dir)
        let path = Fixtures.path("media/opus.mkv")
        let configuration = PipelineConfiguration(chunking: ChunkPlan(chunkSize: 4, overlap: 0.5), maxWorkers: 1)
        let orchestrator = WorkflowOrchestrator(maxWorkers: 1, cache: cache, resources: ResourceManager(limit: nil))
        let first = try await orchestrator.transcribe(path, configuration: configuration)
        let cached = Mutex(0)
        let second = try await orchestrator.transcribe(path, configuration: configuration) { progress in
            if progress.chunk?.cached == true { cached.withLock { $0 += 1 } }
        }
        await orchestrator.close()
        #expect(first.metadata.chunking.chunks >= 3)
        #expect(cached.withLock { $0 } == first.metadata.chunking.chunks)
        #expect(second.words.map(\.text) == first.words.map(\.text))
    }
}
