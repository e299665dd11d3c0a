/// The reading side of a run: the audio stream and the chunker over it.
///
/// `@unchecked Sendable` because it is confined: every method that touches the stream or the
/// chunker is called from inside `thread.run`, which runs one closure at a time on one thread.
/// What other threads touch is `child` (a `Sendable` ``ChildProcess``), the budget and the
/// reservation, which is set before the source is shared.
final class ChunkSource: @unchecked Sendable {
    let stream: AudioStream
    private let chunker: Chunker
    let thread: BlockingThread
    /// FFmpeg's child, when FFmpeg decodes the file.
    let child: ChildProcess?
    private let budget: MemoryBudget?
    /// Bytes reserved for FFmpeg's child, released at ``close()``; set by ``open`` before the
    /// source is shared.
    private(set) var reservedBytes: Int

    private init(stream: AudioStream, chunker: Chunker, thread: BlockingThread, budget: MemoryBudget?, reservedBytes: Int) {
        self.stream = stream
        self.chunker = chunker
        self.thread = thread
        self.child = stream.child
        self.budget = budget
        self.reservedBytes = reservedBytes
    }

    /// Opens `path` on a new reading thread: with libsndfile, or else with FFmpeg in a child
    /// whose memory is first reserved in `budget`. When it does not fit, `makeRoom` is asked to
    /// free something (idle decoders, or another file's run ending) and returns whether it did,
    /// as long as it does; once it cannot and the reservation still does not fit, this throws
    /// ``HearingAIError/Code/memoryLimitTooSmall``.
    static func open(
        path: String, configuration: PipelineConfiguration, budget: MemoryBudget? = nil,
        makeRoom: @Sendable () async -> Bool = { false }
    ) async throws -> ChunkSource {
        let thread = BlockingThread(name: "audio-reader")
        let plan = configuration.chunking
        let start = configuration.startTime
        let end = configuration.effectiveEndTime
        let audioStream = configuration.audioStream
        let measureChannels = configuration.diarization.enabled && configuration.diarization.speakerPerChannel
        do {
            let native = try await thread.run { () -> ChunkSource? in
                guard let file = try AudioStream.openNative(path: path, audioStream: audioStream) else { return nil }
                let stream = try AudioStream(file: file, startTime: start, endTime: end, measureChannels: measureChannels)
                return ChunkSource(
                    stream: stream, chunker: Chunker(plan: plan) { try stream.read(into: &$0) }, thread: thread, budget: nil,
                    reservedBytes: 0)
            }
            if let native { return native }

            // FFmpeg's turn: its child's memory counts against the limit, probe included.
            var reserved = FFmpegCost.reservedBytes(codec: nil)
            if let budget {
                var fits = budget.tryReserve(reserved)
                while !fits, await makeRoom() { fits = budget.tryReserve(reserved) }
                guard fits else {
                    let limit = budget.limit.map { "\($0.megabytes) MB (\($0.source))" } ?? "the limit"
                    throw HearingAIError(
                        .memoryLimitTooSmall, path: path,
                        reason: "memory limit \(limit) has no room for FFmpeg (\(reserved / 1_048_576) MB) beside what is reserved")
                }
            }
            do {
                let stallTimeout = configuration.ffmpegStallTimeout ?? PipelineConfiguration.defaultFFmpegStallTimeout
                let source = try await thread.run {
                    let stream = try AudioStream(
                        ffmpegPath: path, startTime: start, endTime: end, audioStream: audioStream, stallTimeout: stallTimeout,
                        measureChannels: measureChannels)
                    return ChunkSource(
                        stream: stream, chunker: Chunker(plan: plan) { try stream.read(into: &$0) }, thread: thread, budget: budget,
                        reservedBytes: 0)
                }
                // Now that the codec is known, keep its own figure.
                let codecBytes = FFmpegCost.reservedBytes(codec: source.stream.ffmpegCodec)
                if let budget, codecBytes != reserved {
                    if codecBytes < reserved {
                        budget.release(reserved - codecBytes)
                    } else if !budget.tryReserve(codecBytes - reserved) {
                        budget.forceReserve(codecBytes - reserved)
                    }
                }
                reserved = codecBytes
                source.reservedBytes = budget == nil ? 0 : reserved
                return source
            } catch {
                budget?.release(reserved)
                throw error
            }
        } catch {
            thread.shutdown()
            throw error
        }
    }

    /// The next chunk, read on the reading thread. Cancelling the calling task interrupts a
    /// read waiting on FFmpeg (which kills the child) and throws `CancellationError`.
    func next() async throws -> Chunk? {
        let child = self.child
        return try await withTaskCancellationHandler {
            try await thread.run { try self.chunker.next() }
        } onCancel: {
            child?.interrupt()
        }
    }

    /// Ends the reading thread and closes the file; kills FFmpeg's child first if it still runs
    /// (the run stopped early), and releases its reservation after recording its peak.
    func close() {
        let child = self.child
        child?.kill(because: .closed)
        thread.shutdown(after: {
            // Reaped here, on the thread that started it, before that thread ends.
            _ = child?.wait(timeout: .seconds(5))
        })
        if let child, let codec = stream.ffmpegCodec {
            FFmpegCost.record(peakBytes: child.peakResidentBytes, codec: codec)
        }
        budget?.release(reservedBytes)
    }
}
