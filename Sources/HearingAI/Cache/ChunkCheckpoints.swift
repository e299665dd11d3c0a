/// Where finished chunks' words are kept so that an interrupted run resumes from its last
/// finished chunk: the file cache of `hearingai transcribe`, or the ingest service's database.
public protocol ChunkCheckpoints: Sendable {
    /// The words stored for chunk `index`, if any.
    func load(chunk index: Int) async -> [Word]?
    /// Stores the words of chunk `index`.
    func store(_ words: [Word], chunk index: Int) async throws
}
