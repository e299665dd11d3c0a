/// The reading side of a run: the audio stream and the chunker over it.
///
/// `@unchecked Sendable` because it is confined: every method is called from inside
/// `thread.run`, which runs one closure at a time on one thread.
final class ChunkSource: @unchecked Sendable {
    let stream: AudioStream
    private let chunker: Chunker
    let thread: BlockingThread

    private init(stream: AudioStream, chunker: Chunker, thread: BlockingThread) {
        self.stream = stream
        self.chunker = chunker
        self.thread = thread
    }

    /// Opens `path` on a new reading thread.
    static func open(path: String, configuration: PipelineConfiguration) async throws -> ChunkSource {
        let thread = BlockingThread(name: "audio-reader")
        do {
            return try await thread.run {
                let stream = try AudioStream(path: path, startTime: configuration.startTime, endTime: configuration.effectiveEndTime)
                let chunker = Chunker(plan: configuration.chunking) { try stream.read(into: &$0) }
                return ChunkSource(stream: stream, chunker: chunker, thread: thread)
            }
        } catch {
            thread.shutdown()
            throw error
        }
    }

    /// The next chunk, read on the reading thread.
    func next() async throws -> Chunk? {
        try await thread.run { try self.chunker.next() }
    }

    /// Ends the reading thread and closes the file.
    func close() {
        thread.shutdown()
    }
}
