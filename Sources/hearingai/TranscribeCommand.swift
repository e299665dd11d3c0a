import ArgumentParser
import Foundation
import HearingAI
import Logging

/// `hearingai transcribe FILE`: the default command.
struct TranscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe an audio file (WAV, BWF, RF64, AIFF, FLAC, Ogg, Opus, MP3)."
    )

    @Argument(help: "The audio file.")
    var file: String

    @Option(name: .shortAndLong, help: "Output file, or a directory for the outputs (default: beside the input).")
    var output: String?

    @Option(name: .shortAndLong, help: "Output format: txt, json, srt, vtt, md (repeat or comma-separate for several).")
    var format: [String] = []

    @OptionGroup var pipeline: PipelineOptions

    @Option(name: .customLong("start-time"), help: "Seconds into the file to start at.")
    var startTime: Double = 0

    @Option(name: .customLong("end-time"), help: "Seconds into the file to stop at.")
    var endTime: Double?

    @Option(name: .customLong("sample-duration"), help: "Transcribe only this many seconds (a quick sample).")
    var sampleDuration: Double?

    @Flag(name: .shortAndLong, help: "Log one line per chunk and the run's figures.")
    var verbose = false

    @Flag(name: .customLong("show-chunks"), help: "Print each chunk's range, words and decode time.")
    var showChunks = false

    @Option(name: .customLong("memory-trace"), help: "Write resident memory over time (TSV) to this file.")
    var memoryTrace: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
        let logger = Logger(label: "hearingai")
        do {
            try await transcribe(logger: logger)
        } catch let error as HearingAIError {
            throw CLIFailure.report(error.description)
        } catch let error as CLIFailure {
            throw CLIFailure.report(error.description)
        }
    }

    private func transcribe(logger: Logger) async throws {
        let formats = try TranscriptFormat.parseList(format.isEmpty ? ["txt"] : format)
        let destinations = try outputURLs(for: formats)
        let options = TranscriptionOptions(
            chunking: pipeline.chunkPlan,
            maxWorkers: pipeline.maxWorkers,
            startTime: startTime,
            endTime: endTime,
            sampleDuration: sampleDuration
        )
        let cache = ChunkCache(directory: pipeline.cacheDir.map { URL(fileURLWithPath: $0) } ?? ChunkCache.defaultDirectory)
        let limit = try pipeline.resolvedMemoryLimit()
        ResourceManager.shared.setLimit(limit)
        logger.debug("Memory limit", metadata: ["memory.limit": "\(limit.map(\.description) ?? "none")"])
        var traceHandler: (@Sendable ([ResourceSupervisor.Sample]) -> Void)?
        if let memoryTrace {
            let writer = MemoryTraceWriter(path: memoryTrace)
            traceHandler = { samples in writer.write(samples, limit: limit) }
        }
        let orchestrator = WorkflowOrchestrator(
            engine: pipeline.engine, maxWorkers: options.maxWorkers, cache: cache, logger: logger,
            memoryTrace: traceHandler)

        let bar = ProgressBar.isTerminal && !verbose ? ProgressBar() : nil
        let verbose = self.verbose
        let showChunks = self.showChunks
        let transcript: Transcript
        do {
            transcript = try await orchestrator.transcribe(file, options: options) { progress in
                bar?.update(progress)
                guard let chunk = progress.chunk else { return }
                if showChunks {
                    bar?.finish()
                    let line = String(format: "chunk %4d  %9.2f-%9.2f s  %4d words  %6.2f s",
                                      chunk.index, chunk.start, chunk.end, chunk.words, chunk.decodeSeconds)
                        + (chunk.cached ? "  (checkpoint)\n" : "\n")
                    FileHandle.standardError.write(Data(line.utf8))
                } else if verbose {
                    logger.debug("Chunk done", metadata: [
                        "chunk.index": "\(chunk.index)", "chunk.start": "\(chunk.start)", "chunk.end": "\(chunk.end)",
                        "chunk.words": "\(chunk.words)", "chunk.seconds": "\(String(format: "%.2f", chunk.decodeSeconds))",
                        "progress": "\(progress.chunksDone)/\(progress.chunksTotal)",
                    ])
                }
            }
            bar?.finish()
            await orchestrator.close()
        } catch {
            bar?.finish()
            await orchestrator.close()
            throw error
        }

        try write(transcript, to: destinations)
        orchestrator.discardCheckpoints(for: file, options: options)
        for (_, url) in destinations { print(url.path) }
        if verbose {
            let m = transcript.metadata
            logger.info("Transcribed", metadata: [
                "audio.seconds": "\(String(format: "%.2f", m.duration))", "chunks": "\(m.chunking.chunks)",
                "seconds": "\(String(format: "%.2f", m.timings.total))", "speed": "\(String(format: "%.1fx", m.timings.speed))",
                "memory.limit_mb": "\(m.memory.limitMB.map(String.init) ?? "none")",
                "memory.limit_source": "\(m.memory.limitSource ?? "none")",
                "memory.peak_mb": "\(m.memory.peakRSSMB)", "memory.workers_allowed": "\(m.memory.workersAllowed)",
            ])
        }
    }

    /// Renders every format first, then writes them; if one write fails, removes the others,
    /// so a failed run leaves no output behind.
    private func write(_ transcript: Transcript, to destinations: [(TranscriptFormat, URL)]) throws {
        let rendered = try destinations.map { (try transcript.rendered(as: $0.0), $0.1) }
        var written: [URL] = []
        do {
            for (text, url) in rendered {
                try AtomicFile.write(Data(text.utf8), to: url)
                written.append(url)
            }
        } catch {
            for url in written { try? FileManager.default.removeItem(at: url) }
            throw error
        }
    }

    /// Where each format goes: `-o FILE` for one format; `-o DIR` or `-o BASE.ext` for several
    /// (the extension is swapped per format); otherwise beside the input.
    private func outputURLs(for formats: [TranscriptFormat]) throws -> [(TranscriptFormat, URL)] {
        let input = URL(fileURLWithPath: file)
        let stem = input.deletingPathExtension().lastPathComponent
        guard let output else {
            let dir = input.deletingLastPathComponent()
            return formats.map { ($0, dir.appendingPathComponent("\(stem).\($0.fileExtension)")) }
        }
        var isDirectory: ObjCBool = false
        let target = URL(fileURLWithPath: output)
        if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return formats.map { ($0, target.appendingPathComponent("\(stem).\($0.fileExtension)")) }
        }
        let parent = target.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIFailure("\(output): the output directory \(parent.path) does not exist")
        }
        if formats.count == 1 { return [(formats[0], target)] }
        let base = target.deletingPathExtension()
        return formats.map { ($0, base.appendingPathExtension($0.fileExtension)) }
    }
}
